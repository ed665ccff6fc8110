package io.wrnstream.model.data;

/** An encoded image (JPEG or PNG) could not be turned into a {@link Sample}; the message gives the reason. */
public final class ImageDecodeException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with the given reason. */
    public ImageDecodeException(String reason) {
        super(reason);
    }

    /** An exception with the given reason and the decoder's own failure. */
    public ImageDecodeException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
