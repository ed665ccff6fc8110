package io.wrnstream.cli.reproduce;

import java.util.Locale;

/**
 * How long each arm trains, against the full protocol's length: the paper's 200 epochs, or a reduced-budget miniature.
 *
 * @param epochs epochs each arm trains (fractional allowed); the lr schedule spans exactly this
 * @param fullEpochs the protocol's length (the experiment's recipe.epochs)
 * @param reducedData true when arms train or test on part of the data, or on another model than the file's
 * @param notes what else differs from the protocol (empty when nothing)
 */
public record Budget(double epochs, double fullEpochs, boolean reducedData, String notes) {
    public Budget {
        if (!(epochs > 0) || Double.isInfinite(epochs)) throw new IllegalArgumentException("Invalid value " + epochs + " for --epochs: must be > 0");
        notes = notes == null ? "" : notes;
    }

    /** Whether this run is a reduced-budget miniature rather than the paper's protocol. */
    public boolean miniature() {
        return epochs < fullEpochs || reducedData;
    }

    /** Short text for JSON lines: {@code paper} or {@code miniature (8 of 200 epochs)}. */
    public String protocol() {
        if (!miniature()) return "paper";
        return "miniature (" + trim(epochs) + " of " + trim(fullEpochs) + " epochs" + (notes.isEmpty() ? "" : "; " + notes) + ")";
    }

    /** One plain sentence for people: every output of a reduced run carries it. */
    public String banner() {
        if (!miniature()) {
            return "Full protocol: " + trim(epochs) + " epochs per arm, the paper's schedule (lr x0.2 at 30/60/80% of the run).";
        }
        return "REDUCED-BUDGET MINIATURE, NOT THE PAPER'S PROTOCOL: " + trim(epochs) + " of " + trim(fullEpochs) + " epochs per arm"
                + (notes.isEmpty() ? "" : "; " + notes) + ". The lr schedule is scaled to the budget (x0.2 at 30/60/80% of it), so the "
                + "errors reached are those of a short run and are not comparable one to one with the paper's figures.";
    }

    static String trim(double d) {
        String s = String.format(Locale.ROOT, "%.4f", d).replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
