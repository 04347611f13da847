package cgap.engine.safetensors;

import java.util.Locale;

/** Element types of the safetensors format. Only F32, BF16 and F16 are computable; the rest are recognised. */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1), F8_E4M3(1), F8_E5M2(1),
    U16(2), U32(4), U64(8);

    public final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** True for the types the engine computes with. */
    public boolean isFloatWeight() {
        return this == F32 || this == BF16 || this == F16;
    }

    /** Parses a safetensors dtype string, or returns null when it is not a known type. */
    public static DType parse(String s) {
        if (s == null) return null;
        try {
            return valueOf(s.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
