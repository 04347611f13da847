package cgap.engine.backend;

/** Keys and values of every layer for the positions written so far, in a backend's memory. */
public interface KvCache extends AutoCloseable {
    int layers();

    /** Number of positions currently held (the next token's position). */
    int length();

    /** Forgets positions at and after {@code length} (for re-running a suffix). */
    void truncate(int length);

    @Override
    void close();
}
