package cgap.engine.model;

import cgap.engine.ModelLoadException;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Rotary position embedding of one layer: HF's rotate-half layout (pairs i and i + rotaryDim/2), a base theta,
 * and an optional frequency scaling. {@link #inverseFrequencies()} reproduces transformers'
 * {@code _compute_default_rope_parameters}, {@code _compute_linear_scaling_rope_parameters} and
 * {@code _compute_llama3_parameters}.
 */
public record Rope(int rotaryDim, double theta, String scalingType, double factor, double lowFreqFactor,
                   double highFreqFactor, int originalMaxPositions) {

    public static Rope plain(int rotaryDim, double theta) {
        return new Rope(rotaryDim, theta, "default", 1, 0, 0, 0);
    }

    /** Parses a config's {@code rope_scaling} object (null or JSON null for none). Unknown types are refused. */
    public static Rope parse(int rotaryDim, double theta, JsonNode scaling, String where) {
        if (scaling == null || scaling.isNull()) return plain(rotaryDim, theta);
        JsonNode t = scaling.has("rope_type") ? scaling.get("rope_type") : scaling.get("type");
        String type = t == null ? "default" : t.asText();
        return switch (type) {
            case "default" -> plain(rotaryDim, theta);
            case "linear" -> new Rope(rotaryDim, theta, "linear", need(scaling, "factor", where), 0, 0, 0);
            case "llama3" -> new Rope(rotaryDim, theta, "llama3", need(scaling, "factor", where),
                    need(scaling, "low_freq_factor", where), need(scaling, "high_freq_factor", where),
                    (int) need(scaling, "original_max_position_embeddings", where));
            default -> throw new ModelLoadException(where + ": unsupported rope_scaling type '" + type
                    + "' (supported: default, linear, llama3)");
        };
    }

    private static double need(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isNumber()) throw new ModelLoadException(where + ": rope_scaling." + field + " is missing or not a number, found " + v);
        return v.asDouble();
    }

    /** The rotaryDim/2 inverse frequencies, scaled. Computed in double (transformers: float32). */
    public double[] inverseFrequencies() {
        int half = rotaryDim / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / rotaryDim);
        switch (scalingType) {
            case "linear" -> {
                for (int i = 0; i < half; i++) inv[i] /= factor;
            }
            case "llama3" -> {
                double lowWavelen = originalMaxPositions / lowFreqFactor;
                double highWavelen = originalMaxPositions / highFreqFactor;
                for (int i = 0; i < half; i++) {
                    double wavelen = 2 * Math.PI / inv[i];
                    if (wavelen > lowWavelen) {
                        inv[i] = inv[i] / factor;
                    } else if (wavelen >= highWavelen) {
                        double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                        inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
                    }
                }
            }
            default -> { }
        }
        return inv;
    }
}
