package cgap.bench;

import cgap.diagnostics.metrics.MetricKernels;
import org.openjdk.jmh.annotations.*;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The per-row vocabulary kernels of the lens metrics ({@link MetricKernels}, what {@code Metrics.step} runs for each
 * layer row of a step), one thread, on a row of {@code vocab} logits: the top-1/top-2 scan (vector passes, and the
 * scalar scan it falls back to and is tested against), the exponentials and their sum, the normalisation with the
 * entropy, both KL directions against a second row, and the adjacent-layer JS.
 *
 * <pre>./bench/jmh MetricKernelsBench</pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class MetricKernelsBench {
    @Param({"32000", "128256"})
    public int vocab;

    float[] la, lb;
    double[] pa, pb, q, out;
    double maxA, lseA, lseB, sumA;

    @Setup(Level.Trial)
    public void setup() {
        Random r = new Random(1);
        la = new float[vocab];
        lb = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            la[i] = (float) (3 * r.nextGaussian());
            lb[i] = (float) (3 * r.nextGaussian());
        }
        out = new double[3];
        pa = new double[vocab];
        pb = new double[vocab];
        q = new double[vocab];
        MetricKernels.scan(la, null, out);
        maxA = out[1];
        sumA = MetricKernels.expRow(la, maxA, null, pa);
        lseA = maxA + Math.log(sumA);
        MetricKernels.normalize(pa, 1 / sumA, la, lseA);
        MetricKernels.scan(lb, null, out);
        double sumB = MetricKernels.expRow(lb, out[1], null, pb);
        lseB = out[1] + Math.log(sumB);
        MetricKernels.normalize(pb, 1 / sumB, lb, lseB);
        MetricKernels.expRow(la, maxA, null, q);
    }

    @Benchmark
    public int scan() {
        return MetricKernels.scan(la, null, out);
    }

    @Benchmark
    public int scanScalar() {
        return MetricKernels.scanScalar(la, null, out);
    }

    @Benchmark
    public double expRow() {
        return MetricKernels.expRow(la, maxA, null, q);
    }

    /** On row A's exponentials, scaled by 1 (so the row stays the same from call to call). */
    @Benchmark
    public double normalize() {
        return MetricKernels.normalize(q, 1.0, la, lseA);
    }

    @Benchmark
    public double klSums() {
        MetricKernels.klSums(la, lseA, pa, lb, lseB, pb, out);
        return out[0] + out[1];
    }

    @Benchmark
    public double js() {
        return MetricKernels.js(pa, pb);
    }
}
