// The card's own public APs (JPKI and kenhojo) on a Cardap.Context. The library
// applies the PIN safety rules for every caller: a malformed PIN is refused
// before anything is sent, the tries left are read first without spending one,
// a VERIFY is refused at or below the floor (1 by default: the last try is
// never used unless PinFloor = 0), and a VERIFY is never sent twice. PINs are
// byte arrays; the library wipes its own copies (clear yours with Array.Clear).
using System;
using Cardap.Native;

namespace Cardap
{
    /// <summary>A PIN of the card's public APs was refused (41x codes).</summary>
    public class PinException : SecurityException
    {
        public PinException(ResultCode code, string message) : base(code, message) { }
    }

    /// <summary>The card refused the PIN; the message says how many tries are left.</summary>
    public class WrongPinException : PinException
    {
        public WrongPinException(ResultCode code, string message) : base(code, message) { }
    }

    /// <summary>The PIN is blocked: only the municipal office can reset it.</summary>
    public class PinBlockedException : PinException
    {
        public PinBlockedException(ResultCode code, string message) : base(code, message) { }
    }

    /// <summary>The PIN breaks the card's rule; nothing was sent.</summary>
    public class MalformedPinException : PinException
    {
        public MalformedPinException(ResultCode code, string message) : base(code, message) { }
    }

    /// <summary>Refused before sending: the tries left are at or below the floor.</summary>
    public class PinFloorException : PinException
    {
        public PinFloorException(ResultCode code, string message) : base(code, message) { }
    }

    /// <summary>A digest or signature check of data read from the card failed.</summary>
    public class VerificationException : SecurityException
    {
        public VerificationException(ResultCode code, string message) : base(code, message) { }
    }

    internal static class PublicErrors
    {
        internal static CardapException Exception(ResultCode code, string message)
        {
            switch (code)
            {
                case ResultCode.WrongPin: return new WrongPinException(code, message);
                case ResultCode.PinBlocked: return new PinBlockedException(code, message);
                case ResultCode.MalformedPin: return new MalformedPinException(code, message);
                case ResultCode.PinFloor: return new PinFloorException(code, message);
                default: return new VerificationException(code, message);
            }
        }
    }

    /// <summary>A JPKI certificate.</summary>
    public enum JpkiCertificate : uint { Auth = 0, AuthCa = 1, Sign = 2, SignCa = 3 }

    /// <summary>A JPKI key: authentication (authentication PIN) or signature (signature PIN).</summary>
    public enum JpkiKey : uint { Auth = 0, Sign = 1 }

    /// <summary>The digest a JPKI signature is made over.</summary>
    public enum HashAlgorithm : uint { Sha256 = 0, Sha1 = 1, Sha384 = 2, Sha512 = 3 }

    /// <summary>Tries left of the three PINs (null: the card does not have that AP).</summary>
    public sealed class PinStatus
    {
        public int? JpkiAuth { get; internal set; }
        public int? JpkiSign { get; internal set; }
        public int? Kenhojo { get; internal set; }
    }

    public sealed unsafe partial class Context
    {
        private int pinFloor = 1;

        private delegate cardap_result BytesCall(cardap_context* ctx, cardap_bytes** output);

        private byte[] CallBytes(BytesCall call)
        {
            lock (gate)
            {
                return Handles.Use(handle, "Context", ctx =>
                {
                    cardap_bytes* output = null;
                    cardap_result r = call((cardap_context*)ctx, &output);
                    if (r != cardap_result.Ok)
                    {
                        throw Failure((cardap_context*)ctx, r);
                    }
                    try
                    {
                        byte* data;
                        UIntPtr len;
                        Interop.Check(NativeMethods.cardap_bytes_data(output, &data, &len));
                        return Interop.Bytes(data, len);
                    }
                    finally
                    {
                        NativeMethods.cardap_bytes_free(output);
                    }
                });
            }
        }

        private static byte[] NonEmpty(byte[] b) { return b == null || b.Length == 0 ? new byte[1] : b; }
        private static UIntPtr Len(byte[] b) { return (UIntPtr)(b == null ? 0 : b.Length); }

        /// <summary>A VERIFY is refused when the tries left are at or below this
        /// (default 1; 0 lets the last try be used, an explicit opt-in).</summary>
        public int PinFloor
        {
            get { return pinFloor; }
            set
            {
                if (value < 0 || value > 255) throw new ArgumentOutOfRangeException("value");
                lock (gate)
                {
                    Handles.Use(handle, "Context", ptr =>
                    {
                        Interop.Check(NativeMethods.cardap_context_set_pin_floor((cardap_context*)ptr, (byte)value));
                        return 0;
                    });
                    pinFloor = value;
                }
            }
        }

        /// <summary>Identifies the card by SELECT and the JPKI token (never the ATR):
        /// the JSON object <c>cardap info</c> prints.</summary>
        public string CardInfoJson()
        {
            byte[] json = CallBytes((ctx, o) => NativeMethods.cardap_context_card_info(ctx, o));
            return System.Text.Encoding.UTF8.GetString(json);
        }

        /// <summary>Tries left of the three PINs, spending none.</summary>
        public PinStatus GetPinStatus()
        {
            lock (gate)
            {
                return Handles.Use(handle, "Context", ctx =>
                {
                    int a, s, k;
                    cardap_result r = NativeMethods.cardap_context_pin_status((cardap_context*)ctx, &a, &s, &k);
                    if (r != cardap_result.Ok)
                    {
                        throw Failure((cardap_context*)ctx, r);
                    }
                    return new PinStatus
                    {
                        JpkiAuth = a < 0 ? (int?)null : a,
                        JpkiSign = s < 0 ? (int?)null : s,
                        Kenhojo = k < 0 ? (int?)null : k,
                    };
                });
            }
        }

        /// <summary>A JPKI certificate, DER; <see cref="JpkiCertificate.Sign"/> needs the signature PIN.</summary>
        public byte[] GetJpkiCertificate(JpkiCertificate which, byte[] pin = null)
        {
            byte[] p = NonEmpty(pin);
            return CallBytes((ctx, o) =>
            {
                fixed (byte* pp = p)
                {
                    return NativeMethods.cardap_context_jpki_certificate(
                        ctx, (uint)which, pin == null ? null : pp, Len(pin), o);
                }
            });
        }

        /// <summary>Signs <paramref name="data"/>'s digest on the card (PKCS#1 v1.5).</summary>
        public byte[] JpkiSign(JpkiKey key, byte[] data, byte[] pin, HashAlgorithm hash = HashAlgorithm.Sha256)
        {
            if (data == null) throw new ArgumentNullException("data");
            if (pin == null) throw new ArgumentNullException("pin");
            byte[] p = NonEmpty(pin), d = NonEmpty(data);
            return CallBytes((ctx, o) =>
            {
                fixed (byte* pp = p)
                fixed (byte* dp = d)
                {
                    return NativeMethods.cardap_context_jpki_sign(
                        ctx, (uint)key, (uint)hash, pp, Len(pin), dp, Len(data), o);
                }
            });
        }

        /// <summary>The four facts of the card face after the kenhojo PIN, as the JSON
        /// object <c>cardap kenhojo</c> prints; <paramref name="myNumber"/> adds the My
        /// Number, <paramref name="verify"/> the digest checks (and the signature with
        /// <paramref name="verifyKey"/>, a public key or certificate, PEM or DER).</summary>
        public string KenhojoJson(byte[] pin, bool myNumber = false, bool verify = false, byte[] verifyKey = null)
        {
            if (pin == null) throw new ArgumentNullException("pin");
            uint flags = (myNumber ? 1u : 0u) | (verify ? 2u : 0u);
            byte[] p = NonEmpty(pin), k = NonEmpty(verifyKey);
            byte[] json = CallBytes((ctx, o) =>
            {
                fixed (byte* pp = p)
                fixed (byte* kp = k)
                {
                    return NativeMethods.cardap_context_kenhojo(
                        ctx, pp, Len(pin), flags, verifyKey == null ? null : kp, Len(verifyKey), o);
                }
            });
            try
            {
                return System.Text.Encoding.UTF8.GetString(json);
            }
            finally
            {
                Array.Clear(json, 0, json.Length);
            }
        }
    }
}
