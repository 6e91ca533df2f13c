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
    /// <summary>A PIN of the card's public APs was refused (41x codes); the message never holds the PIN.</summary>
    public class PinException : CardapSecurityException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public PinException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    /// <summary>The card refused the PIN; the message says how many tries are left.</summary>
    public class WrongPinException : PinException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public WrongPinException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    /// <summary>The PIN is blocked: only the municipal office can reset it.</summary>
    public class PinBlockedException : PinException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public PinBlockedException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    /// <summary>The PIN breaks the card's rule; nothing was sent.</summary>
    public class MalformedPinException : PinException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public MalformedPinException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    /// <summary>Refused before sending: the tries left are at or below the PIN floor.</summary>
    public class PinFloorException : PinException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public PinFloorException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    /// <summary>A digest or signature check of data read from the card failed.</summary>
    public class DataVerificationException : CardapSecurityException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public DataVerificationException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    internal static class PublicErrors
    {
        internal static CardapException Exception(ResultCode code, string message, Exception inner)
        {
            switch (code)
            {
                case ResultCode.WrongPin: return new WrongPinException(code, message, inner);
                case ResultCode.PinBlocked: return new PinBlockedException(code, message, inner);
                case ResultCode.MalformedPin: return new MalformedPinException(code, message, inner);
                case ResultCode.PinFloor: return new PinFloorException(code, message, inner);
                default: return new DataVerificationException(code, message, inner);
            }
        }
    }

    /// <summary>A JPKI certificate.</summary>
    public enum JpkiCertificate : uint
    {
        /// <summary>The authentication certificate (no PIN).</summary>
        Auth = 0,
        /// <summary>Its CA.</summary>
        AuthCa = 1,
        /// <summary>The signature certificate (signature PIN).</summary>
        Sign = 2,
        /// <summary>Its CA.</summary>
        SignCa = 3,
    }

    /// <summary>A JPKI key.</summary>
    public enum JpkiKey : uint
    {
        /// <summary>The authentication key (authentication PIN).</summary>
        Auth = 0,
        /// <summary>The signature key (signature PIN).</summary>
        Sign = 1,
    }

    /// <summary>The digest a JPKI signature is made over.</summary>
    public enum HashAlgorithm : uint
    {
        /// <summary>SHA-256 (the default).</summary>
        Sha256 = 0,
        /// <summary>SHA-1.</summary>
        Sha1 = 1,
        /// <summary>SHA-384.</summary>
        Sha384 = 2,
        /// <summary>SHA-512.</summary>
        Sha512 = 3,
    }

    /// <summary>Tries left of the three PINs (null: the card does not have that AP).</summary>
    public sealed class PinStatus
    {
        /// <summary>The JPKI authentication PIN.</summary>
        public int? JpkiAuth { get; internal set; }
        /// <summary>The JPKI signature PIN.</summary>
        public int? JpkiSign { get; internal set; }
        /// <summary>The kenhojo PIN.</summary>
        public int? Kenhojo { get; internal set; }
    }

    /// <summary>The card's public APs on a context.</summary>
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
        /// <param name="which">The certificate.</param>
        /// <param name="pin">The signature PIN, for <see cref="JpkiCertificate.Sign"/>.</param>
        /// <returns>The certificate, DER.</returns>
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
        /// <param name="key">The key; its PIN is <paramref name="pin"/>.</param>
        /// <param name="data">The data whose digest is signed.</param>
        /// <param name="pin">The key's PIN.</param>
        /// <param name="hash">The digest algorithm.</param>
        /// <returns>The 256-byte signature.</returns>
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
        /// <param name="pin">The kenhojo PIN.</param>
        /// <param name="myNumber">Also read the My Number.</param>
        /// <param name="verify">Check the digests (and the signature with a key).</param>
        /// <param name="verifyKey">The key that signed the digests; may be null.</param>
        /// <returns>The JSON object.</returns>
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
