package cgap.diagnostics.run;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Opens a run's report.html in headless Chromium (Debian's, installed by tools/chromium/setup.sh) and checks that the
 * browser decoded every figure to a non-empty image. A script appended to a copy of the page writes each image's
 * natural size into the DOM, which Chromium dumps.
 */
class ReportInBrowserTest {
    @TempDir
    Path tmp;

    static Path chromium() {
        for (String c : List.of("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")) {
            if (Files.isExecutable(Path.of(c))) return Path.of(c);
        }
        String msg = "headless Chromium not found (run tools/chromium/setup.sh: apt-get install chromium)";
        if ("true".equals(System.getenv("CI"))) fail(msg);
        assumeTrue(false, msg);
        return null;
    }

    @Test
    void figuresRenderInChromium() throws Exception {
        Path browser = chromium();
        Path pair = DefaultPair.build(tmp.resolve("pair"));
        Path out = tmp.resolve("run");
        var c = RunCommandTest.cgap("run", "--pt", pair.resolve("pt").toString(), "--it", pair.resolve("it").toString(),
                "--out", out.toString(), "--max-new-tokens", "16", "--bootstrap", "200", "--limit", "4");
        assertEquals(0, c.rc(), c.err());
        String html = Files.readString(out.resolve("report.html"));
        String probe = "<script>window.addEventListener('load',()=>{const p=document.createElement('pre');p.id='cgap-probe';"
                + "p.textContent=[...document.images].map(i=>'IMG '+i.naturalWidth+'x'+i.naturalHeight).join('\\n');document.body.appendChild(p);});</script>";
        Path page = tmp.resolve("probe.html");
        Files.writeString(page, html.replace("</body>", probe + "</body>"));
        List<String> cmd = new ArrayList<>(List.of(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + tmp.resolve("profile"), "--virtual-time-budget=5000", "--dump-dom", page.toUri().toString()));
        Process p = new ProcessBuilder(cmd).redirectError(tmp.resolve("chromium.err").toFile()).start();
        String dom = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "chromium did not finish");
        Matcher m = Pattern.compile("IMG (\\d+)x(\\d+)").matcher(dom);
        int images = 0;
        while (m.find()) {
            images++;
            assertTrue(Integer.parseInt(m.group(1)) > 100 && Integer.parseInt(m.group(2)) > 100, "figure " + images + " decoded as " + m.group());
        }
        assertEquals(5, images, "five figures in the report; chromium stderr: " + Files.readString(tmp.resolve("chromium.err")));
        assertTrue(dom.contains("Convergence gap"), "the page's heading is in the rendered DOM");
    }
}
