package cgap.tokenizer;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Locations of the repository root, ../shared and tools/tokref for the tests. */
final class TestPaths {
    private TestPaths() {}

    static boolean ci() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    static Path repoRoot() {
        String env = System.getenv("CGAP_ROOT");
        if (env != null && !env.isBlank()) return Path.of(env).toAbsolutePath().normalize();
        Path here = Path.of("").toAbsolutePath();
        // surefire runs in the module folder (tokenizer/); the root holds the parent pom
        return Files.isRegularFile(here.resolve("../pom.xml")) && !Files.isDirectory(here.resolve("tokenizer"))
                ? here.getParent() : here;
    }

    static Path shared() {
        return repoRoot().resolve("../shared").normalize();
    }

    /** Fails in CI, skips elsewhere, when a prerequisite is missing. */
    static void require(boolean ok, String message) {
        if (ok) return;
        if (ci()) Assertions.fail(message + " (CI=true: failing instead of skipping)");
        Assumptions.assumeTrue(false, message);
    }

    static Path sharedDir(String rel) {
        Path p = shared().resolve(rel);
        require(Files.isRegularFile(p.resolve("tokenizer.json")), "shared tokenizer missing: " + p + "/tokenizer.json");
        return p;
    }

    /** Every folder with a tokenizer.json under ../shared/tokenizers and ../shared/models. */
    static List<Path> allTokenizerDirs() {
        List<Path> out = new ArrayList<>();
        for (String group : List.of("tokenizers", "models")) {
            Path g = shared().resolve(group);
            require(Files.isDirectory(g), "shared folder missing: " + g);
            try (var s = Files.list(g)) {
                s.filter(d -> Files.isRegularFile(d.resolve("tokenizer.json"))).sorted().forEach(out::add);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return out;
    }
}
