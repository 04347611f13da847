package cgap.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.nio.file.Path;

/**
 * CLI: {@code tokenize --model DIR --text TEXT [--special] [--no-add-special-tokens]}.
 *
 * <p>Prints one JSON line {@code {"ids": [...], "tokens": [...]}}.
 *
 * <ul>
 *   <li>Special tokens (BOS, and EOS where the tokenizer adds one) are added by default, as
 *       transformers' {@code tokenizer(text)} does ({@code add_special_tokens=True});
 *       {@code --no-add-special-tokens} turns that off.</li>
 *   <li>Without {@code --special}, special-token strings in TEXT (e.g. {@code <|eot_id|>},
 *       {@code <s>}) are tokenized as plain text, like transformers with
 *       {@code split_special_tokens=True}; with {@code --special} they become the special token,
 *       like transformers' default. Non-special added tokens are always matched, as in transformers.</li>
 * </ul>
 *
 * <p>Exit codes: 0 success, 2 bad arguments or a tokenizer file that cannot be loaded (the
 * message names the file and field).
 */
public final class TokenizeCommand {
    private TokenizeCommand() {}

    static final String USAGE = "usage: tokenize --model DIR --text TEXT [--special] [--no-add-special-tokens]";

    public static int run(String[] args, PrintStream out, PrintStream err) {
        String model = null, text = null;
        boolean special = false, addSpecial = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--model" -> {
                    if (++i >= args.length) return usage(err, "--model needs a value");
                    model = args[i];
                }
                case "--text" -> {
                    if (++i >= args.length) return usage(err, "--text needs a value");
                    text = args[i];
                }
                case "--special" -> special = true;
                case "--no-add-special-tokens" -> addSpecial = false;
                case "-h", "--help" -> {
                    out.println(USAGE);
                    return 0;
                }
                default -> {
                    return usage(err, "unknown argument " + args[i]);
                }
            }
        }
        if (model == null) return usage(err, "--model is required");
        if (text == null) return usage(err, "--text is required");
        Tokenizer tok;
        try {
            tok = Tokenizer.load(Path.of(model));
        } catch (IllegalArgumentException e) {
            err.println("tokenize: " + e.getMessage());
            return 2;
        }
        int[] ids = tok.encode(text, addSpecial, !special);
        ObjectMapper json = new ObjectMapper();
        ObjectNode o = json.createObjectNode();
        ArrayNode idsNode = o.putArray("ids");
        ArrayNode toksNode = o.putArray("tokens");
        for (int id : ids) {
            idsNode.add(id);
            toksNode.add(tok.idToToken(id));
        }
        out.println(o.toString());
        return 0;
    }

    private static int usage(PrintStream err, String msg) {
        err.println("tokenize: " + msg);
        err.println(USAGE);
        return 2;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }
}
