package cgap.engine;

import java.util.BitSet;
import java.util.EnumSet;
import java.util.Set;

/**
 * Which activations a forward call returns: a set of points, the layers (all when null) and the token rows
 * (every position of the call, or only its last). Nothing else is copied out.
 */
public record Capture(Set<Point> points, BitSet layers, boolean lastRowOnly) {
    public static final Capture NONE = new Capture(EnumSet.noneOf(Point.class), null, true);

    public static Capture of(Point... points) {
        return new Capture(points.length == 0 ? EnumSet.noneOf(Point.class) : EnumSet.of(points[0], points), null, false);
    }

    public static Capture lastRow(Point... points) {
        return new Capture(points.length == 0 ? EnumSet.noneOf(Point.class) : EnumSet.of(points[0], points), null, true);
    }

    public Capture onLayers(int... ls) {
        BitSet b = new BitSet();
        for (int l : ls) b.set(l);
        return new Capture(points, b, lastRowOnly);
    }

    public boolean wants(Point p, int layer) {
        return points.contains(p) && (layers == null || layers.get(layer));
    }
}
