package cgap.bench;

import cgap.engine.Activations;
import cgap.engine.Capture;
import cgap.engine.Model;
import cgap.engine.Session;
import cgap.engine.backend.Weight;
import cgap.engine.cpu.CpuBackend;
import cgap.engine.cpu.CpuWeight;
import cgap.engine.cpu.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where a decode step's time goes, op by op, and how fast its matrix products stream their weights against a plain
 * read of the same mapped bytes.
 *
 * <pre>
 * ./bench/decode-profile [--model DIR] [--dtype bf16|f32] [--layers 16 --hidden 1024 --vocab 32000 ...]
 *                        [--prompt 128] [--decode 64] [--rounds 5] [--threads 2]
 * </pre>
 *
 * Without {@code --model} it profiles the synthetic Llama of {@code ./bench/e2e} (same options, same cache). Each
 * round: a fresh session prefills the prompt (untimed), then {@code --decode} greedy steps run through a
 * {@link TimedBackend} that times every backend call; then the same threads read every weight the products touched
 * (a vector sum over the mapped tensors in blocks of 256 KB, not the products' row chunks, claimed by the threads
 * through {@link Parallel#forRange}) and that read's rate is the round's ceiling. The rounds alternate the two, so a
 * shared machine's swings hit both; the table gives medians over rounds, and the products' rate over the read's as the
 * median of the per-round ratios. The load average at the start and at the end goes to stderr.
 */
public final class DecodeProfile {
    private DecodeProfile() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> d = new LinkedHashMap<>(EndToEnd.MODEL_DEFAULTS);
        d.putAll(Map.of("dtype", "bf16", "prompt", "128", "decode", "64", "rounds", "5", "threads", "2"));
        Map<String, String> o = EndToEnd.options(args, d, List.of("model", "heads", "kv-heads", "intermediate"));
        int prompt = EndToEnd.i(o, "prompt"), decode = EndToEnd.i(o, "decode"), rounds = EndToEnd.i(o, "rounds"), threads = EndToEnd.i(o, "threads");
        Path dir = o.containsKey("model") ? Path.of(o.get("model"))
                : EndToEnd.ensureModel(EndToEnd.spec(EndToEnd.withShape(o), o.get("dtype")), Path.of(o.get("cache")), System.err,
                        "decode-profile");
        int[] tokens = new int[prompt];
        for (int i = 0; i < prompt; i++) tokens[i] = 3 + (i * 7919) % 250;

        CpuBackend cpu = new CpuBackend(threads);
        TimedBackend be = new TimedBackend(cpu);
        Parallel par = cpu.parallel(); // the backend's own team: a second one would spin on the same cores
        Map<String, double[]> msPerStep = new LinkedHashMap<>();
        Map<String, Double> callsPerStep = new LinkedHashMap<>(), bytesPerStep = new LinkedHashMap<>();
        double[] stepMs = new double[rounds], readGbs = new double[rounds], productsGbs = new double[rounds];
        try (Model model = Model.load(dir, be)) {
            System.err.printf("decode-profile: %s, %d threads, prompt %d, %d decode steps, %d rounds (+1 warm-up); load average %s%n", dir, threads,
                    prompt, decode, rounds, EndToEnd.loadAvg());
            for (int r = -1; r < rounds; r++) {
                long stepNanos;
                try (Session s = model.newSession()) {
                    Activations a = s.forward(tokens, Capture.NONE);
                    float[] logits = model.unembed(a.finalResid(), 1);
                    int next = Session.argmax(logits, 0, logits.length);
                    be.reset();
                    long t0 = System.nanoTime();
                    for (int k = 0; k < decode; k++) {
                        a = s.forward(new int[]{next}, Capture.NONE);
                        logits = model.unembed(a.finalResid(), 1);
                        next = Session.argmax(logits, 0, logits.length);
                    }
                    stepNanos = System.nanoTime() - t0;
                }
                double readSecs = readAll(be.weights.values(), par);
                if (r < 0) continue; // warm-up
                stepMs[r] = stepNanos / 1e6 / decode;
                long prodNanos = 0, prodBytes = 0, opNanos = 0;
                for (var e : be.ops.entrySet()) {
                    TimedBackend.Op op = e.getValue();
                    msPerStep.computeIfAbsent(e.getKey(), k -> new double[rounds])[r] = op.nanos / 1e6 / decode;
                    callsPerStep.put(e.getKey(), op.calls / (double) decode);
                    bytesPerStep.put(e.getKey(), op.weightBytes / (double) decode);
                    opNanos += op.nanos;
                    if (op.weightBytes > 0) {
                        prodNanos += op.nanos;
                        prodBytes += op.weightBytes;
                    }
                }
                msPerStep.computeIfAbsent("(outside the timed ops: buffer alloc/read/write, argmax, bookkeeping)", k -> new double[rounds])[r] = (stepNanos - opNanos) / 1e6 / decode;
                long weightBytes = 0;
                for (Weight w : be.weights.values()) weightBytes += TimedBackend.bytes(w);
                readGbs[r] = weightBytes / readSecs / 1e9;
                productsGbs[r] = prodBytes / (prodNanos / 1e9) / 1e9;
                System.err.printf(Locale.ROOT, "decode-profile: round %d: %.2f ms/step (%.1f tok/s); products %.1f GB/s of weights, plain read %.1f GB/s%n",
                        r + 1, stepMs[r], 1e3 / stepMs[r], productsGbs[r], readGbs[r]);
            }
        } finally {
            be.close();
        }
        StringBuilder t = new StringBuilder();
        double step = EndToEnd.median(stepMs);
        t.append(String.format(Locale.ROOT, "Decode step: %.2f ms median (%.1f tok/s) over %d rounds of %d steps after a %d-token prompt, %d threads.%n%n",
                step, 1e3 / step, rounds, decode, prompt, threads));
        t.append("| op | ms/step (median) | share | calls/step | µs/call | weights MB/step | weight GB/s |\n|---|---|---|---|---|---|---|\n");
        List<Map.Entry<String, double[]>> rows = new ArrayList<>(msPerStep.entrySet());
        rows.sort((x, y) -> Double.compare(EndToEnd.median(y.getValue()), EndToEnd.median(x.getValue())));
        for (var e : rows) {
            double ms = EndToEnd.median(e.getValue());
            Double calls = callsPerStep.get(e.getKey()), bytes = bytesPerStep.get(e.getKey());
            t.append(String.format(Locale.ROOT, "| %s | %.3f | %.1f%% | %s | %s | %s | %s |%n", e.getKey(), ms, 100 * ms / step,
                    calls == null ? "" : String.format(Locale.ROOT, "%.0f", calls),
                    calls == null ? "" : String.format(Locale.ROOT, "%.1f", 1e3 * ms / calls),
                    bytes == null || bytes == 0 ? "" : String.format(Locale.ROOT, "%.1f", bytes / 1e6),
                    bytes == null || bytes == 0 ? "" : String.format(Locale.ROOT, "%.1f", bytes / 1e6 / ms)));
        }
        double[] ratio = new double[rounds];
        for (int r = 0; r < rounds; r++) ratio[r] = productsGbs[r] / readGbs[r];
        t.append(String.format(Locale.ROOT, "%nMatrix products: %.1f GB/s of weights (median over rounds); a plain read of the same mapped weights by the "
                        + "same threads: %.1f GB/s; products / read: %.2f (median of the per-round ratios; per round: %s).%n",
                EndToEnd.median(productsGbs), EndToEnd.median(readGbs), EndToEnd.median(ratio), Arrays.toString(Arrays.stream(ratio)
                        .mapToObj(v -> String.format(Locale.ROOT, "%.2f", v)).toArray())));
        t.append('\n').append(EndToEnd.footer(EndToEnd.utcMinute(), "", ". Load average before/after: see stderr. ", "decode-profile", args));
        System.err.printf("decode-profile: load average after: %s%n", EndToEnd.loadAvg());
        System.out.print(t);
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final long BLOCK = 1 << 18;

    /** Seconds for the threads to sum every byte of the weights (whole vectors), as floats, in blocks of 256 KB ({@link GemvAnatomy#sum}). */
    static double readAll(java.util.Collection<Weight> weights, Parallel par) {
        List<MemorySegment> segs = new ArrayList<>();
        for (Weight w : weights) segs.add(((CpuWeight) w).seg());
        List<long[]> blocks = new ArrayList<>(); // {segment, offset, length}
        for (int i = 0; i < segs.size(); i++) {
            long size = segs.get(i).byteSize() / (4L * S.length()) * (4L * S.length());
            for (long off = 0; off < size; off += BLOCK) blocks.add(new long[]{i, off, Math.min(BLOCK, size - off)});
        }
        float[] sink = new float[blocks.size()];
        long t0 = System.nanoTime();
        par.forRange(blocks.size(), 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                long[] bl = blocks.get(b);
                sink[b] = GemvAnatomy.sum(segs.get((int) bl[0]), bl[1], bl[1] + bl[2]);
            }
        });
        double secs = (System.nanoTime() - t0) / 1e9;
        float s = 0;
        for (float v : sink) s += v;
        if (s == 12345.678f) System.err.println(); // keep the sum alive
        return secs;
    }
}
