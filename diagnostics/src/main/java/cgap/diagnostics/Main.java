package cgap.diagnostics;

import cgap.diagnostics.cli.Args;
import cgap.diagnostics.cli.TraceCommand;
import cgap.engine.ModelLoadException;

import java.io.PrintStream;
import java.util.Arrays;

/** The {@code cgap} command line. */
public final class Main {
    static final String USAGE = """
            usage: cgap <command> [options]
            commands:
              run        the discovery run on a PT/IT pair: per-layer KL curves, gaps with CIs, figures, report.html
              trace      one prompt through one model: tokens, next-token log-probs, greedy text, per-layer KL to final
              tokenize   text to token ids with a model's tokenizer.json
              chat       render a model's chat template for one user turn, with its token ids
              tune-lens  train a tuned lens (one affine translator per layer) for a model on a text file
              help       this text; 'cgap <command> --help' for a command's options""";

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            out.println(USAGE);
            return 0;
        }
        String cmd = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        boolean help = Arrays.asList(rest).contains("--help");
        try {
            return switch (cmd) {
                case "trace" -> help ? usage(out, TraceCommand.USAGE) : TraceCommand.run(rest, out, err);
                case "run" -> help ? usage(out, cgap.diagnostics.run.RunCommand.USAGE) : cgap.diagnostics.run.RunCommand.run(rest, out, err);
                case "tokenize" -> cgap.tokenizer.TokenizeCommand.run(rest, out, err);
                case "tune-lens" -> help ? usage(out, cgap.diagnostics.cli.TuneLensCommand.USAGE) : cgap.diagnostics.cli.TuneLensCommand.run(rest, out, err);
                case "chat" -> help ? usage(out, cgap.diagnostics.cli.ChatCommand.USAGE) : cgap.diagnostics.cli.ChatCommand.run(rest, out, err);
                default -> {
                    err.println("cgap: unknown command '" + cmd + "'\n" + USAGE);
                    yield 2;
                }
            };
        } catch (Args.UsageException e) {
            err.println("cgap " + e.getMessage());
            return 2;
        } catch (cgap.tokenizer.template.TemplateException e) {
            err.println("cgap " + cmd + ": chat template error: " + e.getMessage());
            return 1;
        } catch (ModelLoadException | IllegalArgumentException e) {
            err.println("cgap " + cmd + ": " + e.getMessage());
            return 1;
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            err.println("cgap " + cmd + ": I/O error: " + e.getMessage());
            return 1;
        }
    }

    private static int usage(PrintStream out, String text) {
        out.println(text);
        return 0;
    }
}
