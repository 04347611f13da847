package cgap.diagnostics.report;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.StandardXYBarPainter;
import org.jfree.data.xy.XYIntervalSeries;
import org.jfree.data.xy.XYIntervalSeriesCollection;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Rectangle2D;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The run's figures, drawn with JFreeChart and written as PNG and SVG side by side. Figures take plain arrays:
 * statistics are computed elsewhere, never here.
 */
public final class Charts {
    public static final int WIDTH = 900;
    public static final int HEIGHT = 520;
    static final Color PT = new Color(0x1f77b4);
    static final Color IT = new Color(0xd62728);
    static final Color GAP = new Color(0x6a3d9a);
    static final Color PT_TUNED = new Color(0x17becf);
    static final Color IT_TUNED = new Color(0xff7f0e);

    /** A curve with its confidence band: mean[i] with [lo[i], hi[i]] at x[i]. */
    public record Band(String label, double[] x, double[] mean, double[] lo, double[] hi, Color color) {
    }

    private Charts() {
    }

    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** Lines with shaded confidence bands (KL per layer against normalised depth, the gap per layer, ...). */
    public static JFreeChart bands(String title, String xLabel, String yLabel, List<Band> bands, boolean zeroLine) {
        XYIntervalSeriesCollection data = new XYIntervalSeriesCollection();
        DeviationRenderer r = new DeviationRenderer(true, true);
        for (int s = 0; s < bands.size(); s++) {
            Band b = bands.get(s);
            XYIntervalSeries series = new XYIntervalSeries(b.label());
            for (int i = 0; i < b.x().length; i++) series.add(b.x()[i], b.x()[i], b.x()[i], b.mean()[i], b.lo()[i], b.hi()[i]);
            data.addSeries(series);
            r.setSeriesPaint(s, b.color());
            r.setSeriesFillPaint(s, b.color());
            r.setSeriesStroke(s, new BasicStroke(2.2f));
        }
        r.setAlpha(0.18f);
        NumberAxis xAxis = new NumberAxis(xLabel);
        NumberAxis yAxis = new NumberAxis(yLabel);
        yAxis.setAutoRangeIncludesZero(true);
        XYPlot plot = new XYPlot(data, xAxis, yAxis, r);
        if (zeroLine) plot.addRangeMarker(new ValueMarker(0, Color.GRAY, new BasicStroke(1f)));
        return style(new JFreeChart(title, new Font("SansSerif", Font.BOLD, 16), plot, true));
    }

    /** Side-by-side histograms of integer values (commitment layers), as fractions of each sample. */
    public static JFreeChart histograms(String title, String xLabel, List<String> labels, List<int[]> values, List<Color> colors, int maxValue) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYBarRenderer r = new XYBarRenderer(0.1);
        r.setBarPainter(new StandardXYBarPainter());
        r.setShadowVisible(false);
        int k = labels.size();
        for (int s = 0; s < k; s++) {
            XYSeries series = new XYSeries(labels.get(s));
            int[] v = values.get(s);
            double[] counts = new double[maxValue + 1];
            for (int x : v) if (x >= 0 && x <= maxValue) counts[x]++;
            for (int x = 0; x <= maxValue; x++) series.add(x - 0.4 + (s + 0.5) * 0.8 / k, v.length == 0 ? 0 : counts[x] / v.length);
            data.addSeries(series);
            r.setSeriesPaint(s, new Color(colors.get(s).getRed(), colors.get(s).getGreen(), colors.get(s).getBlue(), 170));
        }
        data.setIntervalWidth(0.8 / k);
        NumberAxis xAxis = new NumberAxis(xLabel);
        xAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        XYPlot plot = new XYPlot(data, xAxis, new NumberAxis("fraction of token steps"), r);
        plot.setOrientation(PlotOrientation.VERTICAL);
        return style(new JFreeChart(title, new Font("SansSerif", Font.BOLD, 16), plot, true));
    }

    private static JFreeChart style(JFreeChart c) {
        c.setBackgroundPaint(Color.WHITE);
        XYPlot p = c.getXYPlot();
        p.setBackgroundPaint(Color.WHITE);
        p.setDomainGridlinePaint(new Color(0xdddddd));
        p.setRangeGridlinePaint(new Color(0xdddddd));
        return c;
    }

    /** Writes {@code base.png} and {@code base.svg}; returns the PNG's bytes (for embedding). */
    public static byte[] save(JFreeChart chart, Path base) throws IOException {
        Files.createDirectories(base.toAbsolutePath().getParent());
        Path png = base.resolveSibling(base.getFileName() + ".png");
        Path svg = base.resolveSibling(base.getFileName() + ".svg");
        byte[] bytes = ChartUtils.encodeAsPNG(chart.createBufferedImage(WIDTH, HEIGHT));
        Path tmp = png.resolveSibling(png.getFileName() + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, png, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        SVGGraphics2D g = new SVGGraphics2D(WIDTH, HEIGHT);
        chart.draw(g, new Rectangle2D.Double(0, 0, WIDTH, HEIGHT));
        Files.writeString(svg, g.getSVGDocument());
        return bytes;
    }
}
