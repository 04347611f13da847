package cgap.engine;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Locates ../shared beside the repository. In CI (CI=true) its absence fails the test instead of skipping it. */
public final class Shared {
    private Shared() {
    }

    public static Path root() {
        String env = System.getenv("CGAP_ROOT");
        Path repo = env != null ? Path.of(env) : Path.of("").toAbsolutePath();
        while (repo != null && !Files.isRegularFile(repo.resolve("models.yaml")) && !Files.isDirectory(repo.resolve(".ci"))) repo = repo.getParent();
        return repo == null ? Path.of("").toAbsolutePath() : repo;
    }

    /** A path under ../shared, or fail (CI) / skip (elsewhere) when missing. */
    public static Path path(String rel) {
        Path p = root().resolve("../shared").resolve(rel).normalize();
        if (!Files.exists(p)) {
            String msg = "missing shared test material " + p + " (expected ../shared beside the repository)";
            if ("true".equals(System.getenv("CI"))) fail(msg);
            assumeTrue(false, msg);
        }
        return p;
    }
}
