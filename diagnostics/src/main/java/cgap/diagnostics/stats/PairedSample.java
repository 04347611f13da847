package cgap.diagnostics.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * One family's PT and IT per-prompt values aligned by prompt id: row i of {@code pt} and of {@code it} belong
 * to prompt {@code ids.get(i)}. Each row holds k components (k = 1 for a scalar such as a prompt's late KL, k = L
 * for a per-layer curve). A {@code NaN} row component means "this prompt had no token step on that side".
 *
 * @param ids prompt ids, sorted (so resampling does not depend on map iteration order)
 * @param pt  [prompt][k] PT prompt means
 * @param it  [prompt][k] IT prompt means
 */
public record PairedSample(List<String> ids, double[][] pt, double[][] it) {

    public PairedSample {
        ids = List.copyOf(ids);
        if (pt.length != ids.size() || it.length != ids.size()) {
            throw new IllegalArgumentException("ids, pt and it must have the same length: " + ids.size() + ", "
                    + pt.length + ", " + it.length);
        }
        int k = pt.length == 0 ? 0 : pt[0].length;
        for (int i = 0; i < pt.length; i++) {
            if (pt[i].length != k || it[i].length != k) {
                throw new IllegalArgumentException("prompt " + ids.get(i) + ": rows of unequal width (expected " + k + ")");
            }
        }
    }

    /** Number of components per prompt (0 for an empty sample). */
    public int width() {
        return pt.length == 0 ? 0 : pt[0].length;
    }

    /** Number of prompts. */
    public int size() {
        return ids.size();
    }

    /**
     * Aligns two maps prompt id → values. Both sides must hold exactly the same prompt ids (PT and IT run
     * the same prompt set); the error names the ids present on one side only.
     */
    public static PairedSample of(Map<String, double[]> pt, Map<String, double[]> it) {
        Set<String> onlyPt = new TreeSet<>(pt.keySet());
        onlyPt.removeAll(it.keySet());
        Set<String> onlyIt = new TreeSet<>(it.keySet());
        onlyIt.removeAll(pt.keySet());
        if (!onlyPt.isEmpty() || !onlyIt.isEmpty()) {
            throw new IllegalArgumentException("PT and IT prompt ids differ: only in PT " + head(onlyPt)
                    + ", only in IT " + head(onlyIt));
        }
        List<String> ids = new ArrayList<>(new TreeSet<>(pt.keySet()));
        double[][] a = new double[ids.size()][];
        double[][] b = new double[ids.size()][];
        for (int i = 0; i < ids.size(); i++) {
            a[i] = pt.get(ids.get(i));
            b[i] = it.get(ids.get(i));
        }
        return new PairedSample(ids, a, b);
    }

    /** As {@link #of} for one scalar per prompt. */
    public static PairedSample ofScalars(Map<String, Double> pt, Map<String, Double> it) {
        java.util.LinkedHashMap<String, double[]> a = new java.util.LinkedHashMap<>();
        pt.forEach((k, v) -> a.put(k, new double[] {v}));
        java.util.LinkedHashMap<String, double[]> b = new java.util.LinkedHashMap<>();
        it.forEach((k, v) -> b.put(k, new double[] {v}));
        return of(a, b);
    }

    private static String head(Set<String> s) {
        if (s.size() <= 5) {
            return s.toString();
        }
        return new ArrayList<>(s).subList(0, 5) + " and " + (s.size() - 5) + " more";
    }
}
