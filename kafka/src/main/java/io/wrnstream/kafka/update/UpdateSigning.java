package io.wrnstream.kafka.update;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signed model updates: the publisher adds {@value #FIELD}, the HMAC-SHA256 under a shared key of the update's
 * canonical JSON ({@link ModelUpdate#toJson()}, which names the file, its size and SHA-256), and {@code serve}
 * refuses an update whose signature is missing or wrong. Whoever can write the topic but lacks the key cannot make
 * serve load a file of their choosing. Readers without a key ignore the field (format {@value ModelUpdate#FORMAT}
 * is unchanged).
 *
 * <pre>{@code
 * UpdateSigning key = UpdateSigning.fromFile(Path.of("/etc/wrn/model-signing.key"));
 * String json = key.signedJson(update);
 * ModelUpdate back = key.verify(json);       // IllegalArgumentException when unsigned or forged
 * }</pre>
 */
public final class UpdateSigning implements Serializable {
    private static final long serialVersionUID = 1L;

    /** JSON field of the signature: lower-case hex HMAC-SHA256. */
    public static final String FIELD = "hmac_sha256";
    /** Fewest key bytes accepted: 32, the HMAC-SHA256 block's recommended minimum. */
    public static final int MIN_KEY_BYTES = 32;

    private static final ObjectMapper JSON = new ObjectMapper();
    private final byte[] key;

    /** A signer with {@code key} (at least {@value #MIN_KEY_BYTES} bytes). */
    public UpdateSigning(byte[] key) {
        if (key == null || key.length < MIN_KEY_BYTES) {
            throw new IllegalArgumentException("Invalid model signing key of " + (key == null ? 0 : key.length) + " bytes: must be at least "
                    + MIN_KEY_BYTES + " bytes (e.g. openssl rand -hex 32)");
        }
        this.key = key.clone();
    }

    /**
     * The key in {@code file}: its bytes without trailing white space.
     *
     * @throws IllegalArgumentException naming the file when it cannot be read or is too short
     */
    public static UpdateSigning fromFile(Path file) {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read the model signing key file " + file + ": " + e.getMessage(), e);
        }
        int n = b.length;
        while (n > 0 && Character.isWhitespace(b[n - 1])) n--;
        try {
            return new UpdateSigning(Arrays.copyOf(b, n));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().replace("Invalid model signing key", "Invalid model signing key in " + file), e);
        }
    }

    /** The hex signature of {@code u}. */
    public String sign(ModelUpdate u) {
        return HexFormat.of().formatHex(mac(u.toJson()));
    }

    /** {@code u}'s JSON with its signature. */
    public String signedJson(ModelUpdate u) {
        try {
            ObjectNode n = (ObjectNode) JSON.readTree(u.toJson());
            return n.put(FIELD, sign(u)).toString();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("ModelUpdate.toJson wrote invalid JSON", e);
        }
    }

    /**
     * Parses and verifies a signed update.
     *
     * @throws IllegalArgumentException when it is not a valid update, is unsigned, or its signature does not match
     */
    public ModelUpdate verify(String json) {
        ModelUpdate u = ModelUpdate.fromJson(json);
        JsonNode sig;
        try {
            sig = JSON.readTree(json).get(FIELD);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("Invalid model-update event: not JSON", e);
        }
        if (sig == null || !sig.isTextual()) {
            throw new IllegalArgumentException("Unsigned model update v" + u.version() + " of " + u.modelId() + ": refused (serve has a signing key)");
        }
        byte[] given;
        try {
            given = HexFormat.of().parseHex(sig.asText());
        } catch (IllegalArgumentException e) {
            given = new byte[0];
        }
        if (!MessageDigest.isEqual(given, mac(u.toJson()))) {
            throw new IllegalArgumentException("Model update v" + u.version() + " of " + u.modelId() + " has a wrong signature: refused");
        }
        return u;
    }

    private byte[] mac(String canonical) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            return m.doFinal(canonical.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 missing from this JVM", e);
        }
    }
}
