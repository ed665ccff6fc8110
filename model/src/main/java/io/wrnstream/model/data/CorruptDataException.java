package io.wrnstream.model.data;

import java.io.IOException;

/**
 * A dataset file or one of its entries is corrupt, truncated or of the wrong shape. The message starts with the
 * file and entry, e.g. {@code cifar10-test-jpeg.zip!test/cat/0003.jpg: not a decodable JPEG/PNG} or
 * {@code data_batch_1.bin: record 17 is truncated (1200 of 3073 bytes)}.
 */
public final class CorruptDataException extends IOException {

    private static final long serialVersionUID = 1L;

    /** A failure at {@code location} (file, optionally {@code !entry}) for the given reason. */
    public CorruptDataException(String location, String reason) {
        super(location + ": " + reason);
    }

    /** As {@link #CorruptDataException(String, String)}, keeping the underlying failure. */
    public CorruptDataException(String location, String reason, Throwable cause) {
        super(location + ": " + reason, cause);
    }
}
