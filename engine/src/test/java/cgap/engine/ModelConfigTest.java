package cgap.engine;

import cgap.engine.model.Activation;
import cgap.engine.model.Family;
import cgap.engine.model.ModelConfig;
import cgap.engine.model.QkNorm;
import cgap.engine.model.Rope;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class ModelConfigTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static ModelConfig parse(String json) throws Exception {
        return ModelConfig.fromJson(JSON.readTree(json), null, Path.of("/m/config.json"));
    }

    @Test
    void unsupportedModelTypeIsNamed() {
        var e = assertThrows(ModelLoadException.class, () -> parse("{\"model_type\":\"falcon\"}"));
        assertTrue(e.getMessage().contains("unsupported model_type 'falcon'") && e.getMessage().contains("/m/config.json"), e.getMessage());
    }

    @Test
    void unknownRopeScalingIsNamed() {
        var e = assertThrows(ModelLoadException.class, () -> parse("{\"model_type\":\"llama\",\"hidden_size\":64,\"intermediate_size\":128,"
                + "\"num_hidden_layers\":2,\"num_attention_heads\":4,\"vocab_size\":100,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}}"));
        assertTrue(e.getMessage().contains("unsupported rope_scaling type 'yarn'"), e.getMessage());
    }

    @Test
    void missingRequiredField() {
        var e = assertThrows(ModelLoadException.class, () -> parse("{\"model_type\":\"llama\",\"hidden_size\":64}"));
        assertTrue(e.getMessage().contains("'intermediate_size'"), e.getMessage());
    }

    @Test
    void gemma3MultimodalUsesTextConfigAndClassDefaults() throws Exception {
        // The released gemma-3-4b-pt config.json: text_config names only what differs from Gemma3TextConfig.
        ModelConfig c = parse("{\"architectures\":[\"Gemma3ForConditionalGeneration\"],\"model_type\":\"gemma3\",\"eos_token_id\":[1,106],"
                + "\"text_config\":{\"hidden_size\":2560,\"intermediate_size\":10240,\"model_type\":\"gemma3_text\",\"num_hidden_layers\":34,"
                + "\"rope_scaling\":{\"factor\":8.0,\"rope_type\":\"linear\"},\"sliding_window\":1024},\"vision_config\":{}}");
        assertEquals(Family.GEMMA3, c.family());
        assertTrue(c.multimodalLayout());
        assertEquals(8, c.numHeads());
        assertEquals(4, c.numKvHeads());
        assertEquals(256, c.headDim());
        assertEquals(262208, c.vocabSize());
        assertEquals(Activation.GELU_TANH, c.activation());
        assertEquals(QkNorm.PER_HEAD, c.qkNorm());
        assertEquals(1f, c.normOffset());
        assertTrue(c.tiedEmbeddings());
        assertEquals(1 / 16.0, c.attnScale(), 1e-12);
        // pattern 6: layers 5, 11, ... are global and use rope_theta 1e6 with linear scaling 8.
        assertEquals(1024, c.slidingWindow()[0]);
        assertEquals(0, c.slidingWindow()[5]);
        assertEquals(10000.0, c.rope()[0].theta());
        assertEquals("default", c.rope()[0].scalingType());
        assertEquals(1_000_000.0, c.rope()[5].theta());
        assertEquals("linear", c.rope()[5].scalingType());
        assertEquals(java.util.List.of(1, 106), c.eosTokenIds());
    }

    @Test
    void familiesPlaceNormsByRole() throws Exception {
        String base = "\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,\"vocab_size\":100";
        ModelConfig olmo = parse("{\"model_type\":\"olmo2\"," + base + "}");
        assertNull(olmo.names().attnPreNorm());
        assertEquals("post_attention_layernorm", olmo.names().attnPostNorm());
        assertEquals(QkNorm.FULL, olmo.qkNorm());
        ModelConfig llama = parse("{\"model_type\":\"llama\"," + base + "}");
        assertEquals("post_attention_layernorm", llama.names().mlpPreNorm());
        assertNull(llama.names().attnPostNorm());
        ModelConfig qwen2 = parse("{\"model_type\":\"qwen2\"," + base + "}");
        assertTrue(qwen2.qkvBias());
        assertFalse(qwen2.oBias());
        ModelConfig mistral = parse("{\"model_type\":\"mistral\"," + base + ",\"sliding_window\":4096}");
        assertEquals(4096, mistral.slidingWindow()[1]);
        ModelConfig mistral03 = parse("{\"model_type\":\"mistral\"," + base + ",\"sliding_window\":null}");
        assertEquals(0, mistral03.slidingWindow()[1]);
    }

    @Test
    void llama3RopeScalingMatchesTransformersFormula() {
        // Llama 3.1 8B: theta 500000, factor 8, low 1, high 4, original 8192, head_dim 128.
        Rope r = new Rope(128, 500000.0, "llama3", 8, 1, 4, 8192);
        double[] inv = r.inverseFrequencies();
        double[] plain = Rope.plain(128, 500000.0).inverseFrequencies();
        assertEquals(plain[0], inv[0], 0, "high frequencies are untouched");
        assertEquals(plain[63] / 8, inv[63], 1e-20, "low frequencies are divided by the factor");
        // A medium frequency is interpolated: check one against the closed form.
        for (int i = 0; i < 64; i++) {
            double wl = 2 * Math.PI / plain[i];
            if (wl >= 8192 / 4.0 && wl <= 8192 / 1.0) {
                double smooth = (8192 / wl - 1) / (4 - 1);
                assertEquals((1 - smooth) * plain[i] / 8 + smooth * plain[i], inv[i], 1e-15);
            }
        }
    }
}
