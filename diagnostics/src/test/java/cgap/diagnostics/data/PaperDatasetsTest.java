package cgap.diagnostics.data;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The paper's prompt files in ../shared/datasets load completely and every line has what the method needs.
 * Skipped when ../shared is absent on a developer machine; a failure when CI=true.
 */
class PaperDatasetsTest {

    static Path datasets() {
        String root = System.getenv("CGAP_ROOT");
        Path dir = Path.of(root != null ? root : ".").resolve("../shared/datasets").normalize();
        if (!Files.isDirectory(dir)) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail("shared datasets missing at " + dir + " (CGAP_ROOT=" + root + "): CI must have ../shared");
            }
            Assumptions.abort("shared datasets missing at " + dir);
        }
        return dir;
    }

    private static List<Prompt> load(String name, int expected) throws IOException {
        List<Prompt> prompts = PromptSets.load(datasets().resolve(name));
        assertEquals(expected, prompts.size(), name);
        Set<String> ids = new HashSet<>();
        for (Prompt p : prompts) {
            assertTrue(ids.add(p.id()), "duplicate id " + p.id());
            assertFalse(p.text().isBlank(), p.id());
            assertEquals(p.text(), p.fieldString("formats.B"), p.id());
            // SPEC §1: the IT user message is the same text PT gets
            assertEquals(p.rawText(), p.userMessage(), p.id());
            assertEquals(p.text(), p.userMessage(Prompt.UserMessage.RAW_TEXT));
            assertFalse(p.question().isBlank(), p.id());
        }
        return prompts;
    }

    @Test
    void exp3Dataset() throws IOException {
        List<Prompt> prompts = load("exp3_dataset.jsonl", 2936);
        int qa = 0;
        for (Prompt p : prompts) {
            for (String f : new String[] {"question", "source", "split", "question_type"}) {
                assertTrue(p.hasField(f), p.id() + " lacks " + f);
            }
            assertEquals(p.fieldString("question"), p.question(), p.id());
            if (p.text().startsWith("Question: ")) {
                assertEquals("Question: " + p.question() + "\nAnswer:", p.text(), p.id());
                qa++;
            }
        }
        assertTrue(qa > 2500, "Question/Answer-formatted lines: " + qa);
        // a filter on a dotted field and a plain one
        List<Prompt> gen = PromptSets.load(datasets().resolve("exp3_dataset.jsonl"), PromptQuery.all().where("split=GEN"));
        assertFalse(gen.isEmpty());
        assertTrue(gen.stream().allMatch(p -> "GEN".equals(p.fieldString("split"))));
        List<Prompt> comply = PromptSets.load(datasets().resolve("exp3_dataset.jsonl"),
                PromptQuery.all().where("metadata.expected_behavior=comply").limit(5));
        assertEquals(5, comply.size());
    }

    @Test
    void evalDatasetV2() throws IOException {
        List<Prompt> prompts = load("eval_dataset_v2.jsonl", 1400);
        // the first 600 are the endpoint-control set
        assertEquals(600, PromptSets.load(datasets().resolve("eval_dataset_v2.jsonl"), PromptQuery.all().limit(600)).size());
        assertEquals(prompts.get(599).id(), PromptSets.load(datasets().resolve("eval_dataset_v2.jsonl"),
                PromptQuery.all().limit(600)).get(599).id());
    }

    @Test
    void holdoutDataset() throws IOException {
        load("eval_dataset_v2_holdout_0600_1199.jsonl", 600);
    }

    @Test
    void tinyStoriesHeldout() throws IOException {
        for (Prompt p : load("tinystories_instructions_heldout.jsonl", 100)) {
            assertEquals("Question: " + p.question() + "\nAnswer:", p.text());
        }
    }
}
