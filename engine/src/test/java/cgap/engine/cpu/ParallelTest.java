package cgap.engine.cpu;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.*;

class ParallelTest {
    /** Every index is visited exactly once, whatever n, grain and thread count. */
    @Test
    void coversEveryIndexOnce() {
        for (int threads : new int[]{1, 2, 3, 5}) {
            try (Parallel par = new Parallel(threads)) {
                for (int n : new int[]{1, 2, 7, 64, 1000, 4097}) {
                    for (int grain : new int[]{1, 3, 64, 5000}) {
                        AtomicIntegerArray hits = new AtomicIntegerArray(n);
                        par.forRange(n, grain, (a, b) -> {
                            assertTrue(a < b, "empty chunk");
                            for (int i = a; i < b; i++) hits.incrementAndGet(i);
                        });
                        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "threads " + threads + " n " + n + " grain " + grain + " index " + i);
                    }
                }
            }
        }
    }

    /** The work really is shared: with 2 threads, a call whose chunks wait for each other completes. */
    @Test
    void helpersTakeChunks() throws Exception {
        try (Parallel par = new Parallel(2)) {
            CountDownLatch both = new CountDownLatch(2);
            AtomicInteger threadsSeen = new AtomicInteger();
            par.forRange(2, 1, (a, b) -> {
                // each of the 2 chunks waits for the other: only passes if two threads run them at once
                meet(both, "the second chunk never ran concurrently");
                threadsSeen.incrementAndGet();
            });
            assertEquals(2, threadsSeen.get());
        }
    }

    /** Counts down, then waits (10 s at most) until the latch is open, failing with message if it never opens. */
    private static void meet(CountDownLatch both, String message) {
        both.countDown();
        try {
            assertTrue(both.await(10, TimeUnit.SECONDS), message);
        } catch (InterruptedException e) {
            throw new RuntimeException(e);
        }
    }

    /** A helper that has parked after its spin is woken by the next call. */
    @Test
    void parkedHelpersWakeUp() throws Exception {
        try (Parallel par = new Parallel(2)) {
            for (int round = 0; round < 3; round++) {
                Thread.sleep(Parallel.SPIN_NANOS / 1_000_000 + 20); // past the spin: the helper parks
                CountDownLatch both = new CountDownLatch(2);
                par.forRange(2, 1, (a, b) -> meet(both, "round: parked helper not woken"));
            }
        }
    }

    @Test
    void exceptionsReachTheCaller() {
        try (Parallel par = new Parallel(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> par.forRange(100, 1, (a, b) -> {
                if (a <= 50 && 50 < b) throw new IllegalStateException("chunk with 50");
            }));
            assertEquals("chunk with 50", e.getMessage());
            // the team still works afterwards
            AtomicInteger sum = new AtomicInteger();
            par.forRange(100, 1, (a, b) -> sum.addAndGet(b - a));
            assertEquals(100, sum.get());
        }
    }

    /** A body that calls forRange again runs the inner call serially instead of deadlocking. */
    @Test
    void nestedCallsRunSerially() {
        try (Parallel par = new Parallel(2)) {
            AtomicInteger sum = new AtomicInteger();
            par.forRange(8, 1, (a, b) -> {
                for (int i = a; i < b; i++) par.forRange(10, 1, (c, d) -> sum.addAndGet(d - c));
            });
            assertEquals(80, sum.get());
        }
    }

    /** Calls from several threads at once each complete with their own results. */
    @Test
    void concurrentCallersAreSerialised() throws Exception {
        try (Parallel par = new Parallel(2)) {
            Thread[] callers = new Thread[4];
            long[] sums = new long[callers.length];
            for (int c = 0; c < callers.length; c++) {
                int id = c;
                callers[c] = new Thread(() -> {
                    for (int rep = 0; rep < 200; rep++) {
                        java.util.concurrent.atomic.AtomicLong s = new java.util.concurrent.atomic.AtomicLong();
                        par.forRange(1000, 10, (a, b) -> {
                            long t = 0;
                            for (int i = a; i < b; i++) t += i * (long) (id + 1);
                            s.addAndGet(t);
                        });
                        sums[id] += s.get();
                    }
                });
                callers[c].start();
            }
            for (Thread t : callers) t.join();
            for (int c = 0; c < callers.length; c++) assertEquals(200L * 499500L * (c + 1), sums[c]);
        }
    }
}
