package cgap.engine;

import java.util.EnumMap;
import java.util.Map;

/**
 * What a forward call captured: for each requested (point, layer), a row-major [rows, width] array, where rows are
 * the call's positions (or only its last, as the {@link Capture} said). Also the final residual rows
 * ({@code resid_post} of the last layer) that the model's head reads.
 */
public final class Activations {
    private final Map<Point, float[][]> byPoint = new EnumMap<>(Point.class);
    private final int layers;
    private final int rows;
    private final int firstPosition;
    final float[] finalResid;

    Activations(int layers, int rows, int firstPosition, float[] finalResid) {
        this.layers = layers;
        this.rows = rows;
        this.firstPosition = firstPosition;
        this.finalResid = finalResid;
    }

    void put(Point p, int layer, float[] data) {
        byPoint.computeIfAbsent(p, k -> new float[layers][])[layer] = data;
    }

    /** Rows captured per point (the call's token count, or 1 for last-row captures). */
    public int rows() {
        return rows;
    }

    /** Absolute position of the first captured row. */
    public int firstPosition() {
        return firstPosition;
    }

    /** [rows, width] of a point at a layer; throws when it was not requested. */
    public float[] get(Point p, int layer) {
        float[][] a = byPoint.get(p);
        if (a == null || a[layer] == null) throw new IllegalArgumentException(p.id() + " of layer " + layer + " was not captured");
        return a[layer];
    }

    public boolean has(Point p, int layer) {
        float[][] a = byPoint.get(p);
        return a != null && a[layer] != null;
    }

    /** The final residual rows (block L-1's output) of the captured rows, [rows, hidden]. */
    public float[] finalResid() {
        return finalResid;
    }
}
