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
 * to do rather than delaying the call. Which thread computes a chunk never changes what it computes.
 *
 * <p>A call made from inside a body (nested), or while another thread's call is running, runs serially on the
 * calling thread or waits for the team respectively; it never deadlocks.
 */
public final class Parallel {
    public interface RangeBody {
        void run(int from, int to);
    }

    /** How long an idle helper polls for the next job before parking. */
    static final long SPIN_NANOS = 200_000;

    /** One call: the body, its chunking, the next chunk to claim and the chunks still running or unclaimed. */
    private static final class Job {
        final RangeBody body;
        final int n, per, chunks;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger remaining;
        final AtomicReference<Throwable> failure = new AtomicReference<>();

        Job(RangeBody body, int n, int per, int chunks) {
            this.body = body;
            this.n = n;
            this.per = per;
            this.chunks = chunks;
            this.remaining = new AtomicInteger(chunks);
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            int c;
            while ((c = next.getAndIncrement()) < chunks) {
                try {
                    if (failure.get() == null) body.run(c * per, Math.min(n, c * per + per));
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    remaining.decrementAndGet();
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
     * Runs body over [0, n) in contiguous chunks, at least {@code grain} indices each, at most 4 chunks a thread.
     * Exceptions thrown by the body are rethrown here (the first one; later chunks are skipped).
     */
    public void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(Math.max(1, n / Math.max(1, grain)), threads * 4);
        if (helpers.length == 0 || chunks <= 1 || inside.get()) {
            body.run(0, n);
            return;
        }
        int per = (n + chunks - 1) / chunks;
        Job job = new Job(body, n, per, (n + per - 1) / per);
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

    public void close() {
        closed = true;
        for (Thread t : helpers) LockSupport.unpark(t);
    }
}
