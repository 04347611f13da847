package cgap.engine.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/** Splits index ranges over a fixed pool of worker threads (one per core unless told otherwise). */
public final class Parallel {
    public interface RangeBody {
        void run(int from, int to);
    }

    private final ForkJoinPool pool;
    private final int threads;

    public Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = this.threads == 1 ? null : new ForkJoinPool(this.threads, p -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setDaemon(true);
            t.setName("cgap-cpu-" + t.getPoolIndex());
            return t;
        }, null, false);
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs body over [0, n) in contiguous chunks, at least {@code grain} indices each, about 4 chunks a thread.
     */
    public void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(Math.max(1, n / Math.max(1, grain)), threads * 4);
        if (pool == null || chunks <= 1) {
            body.run(0, n);
            return;
        }
        int per = (n + chunks - 1) / chunks;
        RecursiveAction[] tasks = new RecursiveAction[(n + per - 1) / per];
        for (int c = 0; c < tasks.length; c++) {
            int from = c * per, to = Math.min(n, from + per);
            tasks[c] = new RecursiveAction() {
                @Override
                protected void compute() {
                    body.run(from, to);
                }
            };
        }
        pool.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                invokeAll(tasks);
            }
        });
    }

    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
