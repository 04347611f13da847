package cgap.engine.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Splits index ranges over a fixed team of threads: the calling thread and {@code threads - 1} helpers.
 *
 * <p>A decode step is hundreds of parallel operations of 20-200 µs each, so what a call costs to start matters as
 * much as the work: a helper that has to be woken from a park costs tens of microseconds on a VM. Helpers therefore
 * spin (with {@link Thread#onSpinWait}) for {@link #SPIN_NANOS} after their last job before they park, the caller
 * takes chunks itself instead of waiting, and chunks are claimed from a shared counter, so a late helper finds less
 * to do rather than delaying the call. Which thread computes a chunk, and where the chunks are cut, never changes
 * what is computed for an index.
 *
 * <p>A call made from inside a body (nested), or while another thread's call is running, runs serially on the
 * calling thread or waits for the team respectively; it never deadlocks.
 */
public final class Parallel implements AutoCloseable {
    public interface RangeBody {
        void run(int from, int to);
    }

    /** How long an idle helper polls for the next job before parking. */
    static final long SPIN_NANOS = 200_000;

    /**
     * One call: the body, the next index to claim and the indices not yet done. Chunks are claimed guided-style: a
     * claim takes a share of what is left ({@code left / (2 · threads)}, at least the grain), so chunks start large
     * and shrink towards the end, and the threads finish together instead of one waiting on another's last big chunk.
     */
    private static final class Job {
        final RangeBody body;
        final int n, grain, shareDiv;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger remaining;
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(RangeBody body, int n, int grain, int threads) {
            this.body = body;
            this.n = n;
            this.grain = grain;
            this.shareDiv = 2 * threads;
            this.remaining = new AtomicInteger(n);
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            while (true) {
                int from = next.get();
                if (from >= n) return;
                int size = Math.max(grain, (n - from) / shareDiv);
                int to = Math.min(n, from + size);
                if (!next.compareAndSet(from, to)) continue;
                try {
                    if (failure.get() == null) body.run(from, to);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    remaining.addAndGet(from - to);
                }
            }
        }
    }

    private final int threads;
    private final Thread[] helpers;
    private final boolean[] parked;
    private volatile Job current;
    private volatile boolean closed;
    private final ReentrantLock submit = new ReentrantLock();
    /** True on a thread that is running a body (helpers always; the caller during its call). */
    private final ThreadLocal<Boolean> inside = ThreadLocal.withInitial(() -> false);

    public Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.helpers = new Thread[this.threads - 1];
        this.parked = new boolean[helpers.length];
        for (int i = 0; i < helpers.length; i++) {
            int id = i;
            Thread t = new Thread(() -> helperLoop(id), "cgap-cpu-" + (i + 1));
            t.setDaemon(true);
            helpers[i] = t;
            t.start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs body over [0, n) in contiguous chunks of at least {@code grain} indices (the last may be shorter), claimed
     * by the threads as they become free, large first and shrinking towards the end (see {@link Job}). Exceptions
     * thrown by the body are rethrown here (the first one; chunks not yet started are skipped).
     */
    public void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        grain = Math.max(1, grain);
        if (helpers.length == 0 || n < 2 * grain || inside.get()) {
            body.run(0, n);
            return;
        }
        Job job = new Job(body, n, grain, threads);
        submit.lock();
        inside.set(true);
        try {
            current = job;
            for (int i = 0; i < helpers.length; i++) {
                if (isParked(i)) {
                    setParked(i, false);
                    LockSupport.unpark(helpers[i]);
                }
            }
            job.work();
            while (job.remaining.get() > 0) Thread.onSpinWait();
        } finally {
            inside.set(false);
            submit.unlock();
        }
        Throwable t = job.failure.get();
        if (t instanceof RuntimeException e) throw e;
        if (t instanceof Error e) throw e;
        if (t != null) throw new RuntimeException(t);
    }

    private void helperLoop(int id) {
        inside.set(true);
        Job seen = null;
        long idleSince = System.nanoTime();
        while (!closed) {
            Job j = current;
            if (j != seen) {
                seen = j;
                j.work();
                idleSince = System.nanoTime();
                continue;
            }
            if (System.nanoTime() - idleSince < SPIN_NANOS) {
                Thread.onSpinWait();
                continue;
            }
            // park, announcing it first; the re-check closes the race with a job published meanwhile
            setParked(id, true);
            if (current == seen && !closed) LockSupport.park(this);
            setParked(id, false);
            idleSince = System.nanoTime();
        }
    }

    private static final java.lang.invoke.VarHandle PARKED = java.lang.invoke.MethodHandles.arrayElementVarHandle(boolean[].class);

    private boolean isParked(int i) {
        return (boolean) PARKED.getVolatile(parked, i);
    }

    private void setParked(int i, boolean v) {
        PARKED.setVolatile(parked, i, v);
    }

    /** Lets the helpers go: each leaves its loop at its next look (a parked one is woken for it). */
    @Override
    public void close() {
        closed = true;
        for (Thread t : helpers) LockSupport.unpark(t);
    }
}
