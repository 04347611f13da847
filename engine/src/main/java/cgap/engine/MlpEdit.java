package cgap.engine;

import cgap.engine.backend.Buf;

/**
 * Replaces the MLP of chosen layers during a forward pass. At such a layer the engine calls
 * {@link #apply} with the host's MLP input instead of running the host's MLP; the edit writes what the MLP branch
 * outputs (before the host's post-MLP norm, if any). {@link Model#mlp} runs any model's MLP of a layer on any
 * input, so grafts, swaps and controls are a few lines each.
 */
public interface MlpEdit {
    boolean covers(int layer);

    void apply(Model host, int layer, Buf mlpIn, Buf out);

    /** The donor's MLP applied to the host's own MLP input at the given layers (the paper's graft and swap). */
    static MlpEdit swap(Model donor, java.util.Set<Integer> layers) {
        return new MlpEdit() {
            @Override
            public boolean covers(int layer) {
                return layers.contains(layer);
            }

            @Override
            public void apply(Model host, int layer, Buf mlpIn, Buf out) {
                host.checkCompatible(donor);
                donor.mlp(layer, mlpIn, out);
            }
        };
    }
}
