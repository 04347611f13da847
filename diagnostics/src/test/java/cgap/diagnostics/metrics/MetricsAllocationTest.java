package cgap.diagnostics.metrics;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The streaming implementation's memory claim: a warm {@link Metrics} instance allocates O(L) per step, never
 * L×V doubles (here L×V×8 = 13.6 MB; the reference allocates about that much).
 */
class MetricsAllocationTest {

    @Test
    void warmStepAllocatesNoLayerByVocabArrays() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        // the JDK the build selects (HotSpot) has per-thread allocation counters: no skip
        assertTrue(mx instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter in this JVM");
        com.sun.management.ThreadMXBean bean = (com.sun.management.ThreadMXBean) mx;
        assertTrue(bean.isThreadAllocatedMemorySupported() && bean.isThreadAllocatedMemoryEnabled(), "per-thread allocation counting is off");
        int layers = 34;
        int vocab = 50_000;
        SplittableRandom rng = new SplittableRandom(5);
        float[][] logits = new float[layers][vocab];
        for (float[] row : logits) {
            for (int v = 0; v < vocab; v++) {
                row[v] = (float) (3 * rng.nextGaussian());
            }
        }
        float[][] resid = new float[layers][256];
        Metrics m = new Metrics();
        m.step(logits, resid, null); // warm: allocates its one V-double row
        long tid = Thread.currentThread().threadId();
        // Until the JIT compiles the vector loops, the Vector API boxes its temporaries (short-lived garbage, not
        // arrays): step until the compiled code runs, then a step must allocate next to nothing.
        long streaming = Long.MAX_VALUE;
        long until = System.nanoTime() + 60_000_000_000L;
        for (int warm = 0; warm < 2000 && streaming >= 64 * 1024 && System.nanoTime() < until; warm++) {
            long before = bean.getThreadAllocatedBytes(tid);
            m.step(logits, resid, null);
            streaming = bean.getThreadAllocatedBytes(tid) - before;
        }
        long before = bean.getThreadAllocatedBytes(tid);
        MetricsReference.compute(logits, resid, null);
        long reference = bean.getThreadAllocatedBytes(tid) - before;
        assertTrue(streaming < 64 * 1024, "streaming step allocated " + streaming + " bytes");
        assertTrue(reference > (long) layers * vocab * 8, "reference allocated " + reference + " bytes");
    }
}
