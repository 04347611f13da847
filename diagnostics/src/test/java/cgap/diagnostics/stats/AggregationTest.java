package cgap.diagnostics.stats;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SPEC §4 averaging order: layers within a step → steps within a prompt → prompts within a model → families. */
class AggregationTest {

    /**
     * Model X: prompt a has one step of value 1, prompt b three steps of value 0.
     * Correct (prompt means first): (1 + 0)/2 = 0.5. Pooling the steps instead: 1/4 = 0.25.
     * Model Y: one prompt, two steps 0.2 and 0.4 → 0.3.
     * Family mean (equal weight): (0.5 + 0.3)/2 = 0.4. Pooling prompts over models instead: (1 + 0 + 0.3)/3 ≈ 0.4333;
     * pooling every step: (1 + 0 + 0 + 0 + 0.2 + 0.4)/6 ≈ 0.2667.
     */
    @Test
    void orderOfAveragingMatters() {
        double[][][] values = {
                {{1.0}, {0.0, 0.0, 0.0}},
                {{0.2, 0.4}}
        };
        assertEquals(0.5, Aggregation.modelMean(new double[] {Aggregation.promptMean(values[0][0], 0),
                Aggregation.promptMean(values[0][1], 0)}), 1e-15);
        assertEquals(0.4, Aggregation.hierarchicalMean(values, 0), 1e-15);
        double pooledSteps = (1 + 0.2 + 0.4) / 6;
        double pooledPrompts = (1 + 0 + 0.3) / 3;
        assertNotEquals(pooledSteps, Aggregation.hierarchicalMean(values, 0), 1e-3);
        assertNotEquals(pooledPrompts, Aggregation.hierarchicalMean(values, 0), 1e-3);
        assertEquals(0.25, Aggregation.promptMean(new double[] {1, 0, 0, 0}, 0), 1e-15); // the wrong answer, for contrast
    }

    /** Skipping the first generated steps (paper code: 1 for discovery curves, 5 for endpoint controls). */
    @Test
    void skipFirstSteps() {
        assertEquals(2.5, Aggregation.promptMean(new double[] {100, 2, 3}, 1), 1e-15);
        assertTrue(Double.isNaN(Aggregation.promptMean(new double[] {100}, 1)));
        assertTrue(Double.isNaN(Aggregation.promptMean(new double[] {}, 0)));
        // a prompt left without steps is left out of the model mean, not counted as 0
        double[][][] values = {{{7.0}, {9.0, 1.0, 3.0}}};
        assertEquals(2.0, Aggregation.hierarchicalMean(values, 1), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> Aggregation.promptMean(new double[] {1}, -1));
    }

    @Test
    void perLayerLevels() {
        double[][] steps = {{9, 9}, {1, 2}, {3, 4}};
        assertArrayEquals(new double[] {2, 3}, Aggregation.promptMeanPerLayer(steps, 2, 1), 1e-15);
        double[] none = Aggregation.promptMeanPerLayer(steps, 2, 3);
        assertTrue(Double.isNaN(none[0]) && Double.isNaN(none[1]));
        assertArrayEquals(new double[] {2, 4}, Aggregation.modelMeanPerLayer(new double[][] {{1, 3}, {3, 5}, none}, 2), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> Aggregation.promptMeanPerLayer(new double[][] {{1}}, 2, 0));
    }

    @Test
    void windowAndFamilyLevels() {
        assertEquals(2.5, Aggregation.stepWindowMean(new double[] {0, 0, 2, 3}, 2, 3), 1e-15);
        assertEquals(0.5, Aggregation.equalWeightMean(new double[] {0, 1}), 1e-15);
        assertTrue(Double.isNaN(Aggregation.equalWeightMean(new double[] {0, Double.NaN})));
        assertTrue(Double.isNaN(Aggregation.modelMean(new double[] {Double.NaN})));
    }
}
