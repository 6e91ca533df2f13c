// The embedding hooks of the C# layer: a transport delegate of the caller's,
// waiting for a card with a timeout and a CancellationToken, a key provider
// that keeps the AP keys in the caller's object, and log events. Every
// delegate handed to libcardap is kept alive for the life of the native
// object that calls it, and no exception ever crosses into native code.
//
// Written for C# 7 (Mono's mcs) as well as current .NET.
using System;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Cardap.Native;

namespace Cardap
{
    /// <summary>The cipher suites of mutual authentication (<c>cardap_suite</c>).</summary>
    public enum Suite : uint
    {
        /// <summary>Two-key triple DES (16-byte keys); MAC: ISO/IEC 9797-1 algorithm 3.</summary>
        TripleDes = 1,
        /// <summary>AES-128 (16-byte keys); MAC: AES-CMAC cut to 8 bytes.</summary>
        Aes128 = 2,
        /// <summary>AES-256 (32-byte keys); MAC: AES-CMAC cut to 8 bytes.</summary>
        Aes256 = 3,
    }

    /// <summary>Computes with an AP's keys <c>K_enc</c> and <c>K_mac</c> wherever they
    /// live (an HSM, a SAM, your own object), so that the keys never pass through
    /// cardap; pass it to <see cref="Context.Read(Profile, IKeyProvider)"/>. The
    /// methods run on the thread that reads. An exception they throw fails the read
    /// with a <see cref="CardapSecurityException"/> whose InnerException it is. The
    /// wrapper clears the arrays it passes in and gets back once it has copied them.</summary>
    public interface IKeyProvider
    {
        /// <summary>The suite of the keys.</summary>
        Suite Suite { get; }

        /// <summary><c>E(K_enc, data)</c>: CBC with a zero IV and no padding, over whole
        /// cipher blocks.</summary>
        /// <param name="data">Whole cipher blocks.</param>
        /// <returns>The ciphertext, as long as <paramref name="data"/>.</returns>
        byte[] Encrypt(byte[] data);

        /// <summary>The inverse of <see cref="Encrypt"/> (CBC, zero IV, no padding).</summary>
        /// <param name="data">Whole cipher blocks.</param>
        /// <returns>The plaintext, as long as <paramref name="data"/>.</returns>
        byte[] Decrypt(byte[] data);

        /// <summary><c>MAC(K_mac, data)</c>: the suite's 8-byte MAC (ISO/IEC 9797-1 MAC
        /// algorithm 3 for 3DES, AES-CMAC cut to 8 bytes for AES). The provider pads:
        /// ISO/IEC 9797-1 padding method 2 to the cipher block size.</summary>
        /// <param name="data">The bare cryptogram.</param>
        /// <returns>Eight bytes.</returns>
        byte[] Mac(byte[] data);
    }

    /// <summary>Keeps what a delegate of the caller's threw inside a native call,
    /// to become the InnerException of the exception the call ends with.</summary>
    internal sealed class CallbackFailures
    {
        private Exception failure;

        internal void Keep(Exception e)
        {
            if (failure == null) failure = e;
        }

        internal Exception Take()
        {
            Exception e = failure;
            failure = null;
            return e;
        }
    }

    /// <summary>The native side of a transport delegate.</summary>
    internal sealed unsafe class TransportBridge
    {
        private readonly Func<byte[], byte[]> transmit;
        internal readonly CallbackFailures Failures = new CallbackFailures();
        internal readonly NativeMethods.cardap_context_new_transport_transmit_delegate Native;

        internal TransportBridge(Func<byte[], byte[]> transmit)
        {
            this.transmit = transmit;
            Native = Transmit;
        }

        private uint Transmit(void* userdata, byte* command, UIntPtr commandLen, byte* response,
            UIntPtr capacity, UIntPtr* responseLen)
        {
            try
            {
                byte[] reply = transmit(Interop.Bytes(command, commandLen));
                if (reply == null)
                {
                    throw new InvalidOperationException("the transport returned null");
                }
                if ((ulong)reply.Length > capacity.ToUInt64())
                {
                    throw new InvalidOperationException(
                        "the transport returned " + reply.Length + " bytes; at most " + capacity + " fit");
                }
                if (reply.Length > 0)
                {
                    Marshal.Copy(reply, 0, (IntPtr)response, reply.Length);
                }
                *responseLen = (UIntPtr)reply.Length;
                return (uint)ResultCode.Ok;
            }
            catch (Exception e)
            {
                Failures.Keep(e);
                var transport = e as TransportException;
                if (transport != null && (uint)transport.Code / 100 == 2)
                {
                    return (uint)transport.Code;
                }
                return (uint)ResultCode.TransportFailure;
            }
        }
    }

    /// <summary>The native side of a key provider, for the time of one read.</summary>
    internal sealed unsafe class KeyBridge
    {
        private readonly IKeyProvider keys;
        private readonly CallbackFailures failures;
        internal readonly NativeMethods.cardap_key_provider_new_encrypt_delegate Encrypt;
        internal readonly NativeMethods.cardap_key_provider_new_decrypt_delegate Decrypt;
        internal readonly NativeMethods.cardap_key_provider_new_mac_delegate Mac;

        internal KeyBridge(IKeyProvider keys, CallbackFailures failures)
        {
            this.keys = keys;
            this.failures = failures;
            Encrypt = (u, i, n, o, c, on) => Cipher(keys.Encrypt, "Encrypt", i, n, o, c, on);
            Decrypt = (u, i, n, o, c, on) => Cipher(keys.Decrypt, "Decrypt", i, n, o, c, on);
            Mac = MacOf;
        }

        private uint Cipher(Func<byte[], byte[]> method, string name, byte* input, UIntPtr inputLen,
            byte* output, UIntPtr capacity, UIntPtr* outputLen)
        {
            byte[] data = null;
            byte[] result = null;
            try
            {
                data = Interop.Bytes(input, inputLen);
                result = method(data);
                if (result == null || (ulong)result.Length > capacity.ToUInt64())
                {
                    throw new InvalidOperationException("IKeyProvider." + name + " returned " +
                        (result == null ? "null" : result.Length + " bytes; at most " + capacity + " fit"));
                }
                if (result.Length > 0)
                {
                    Marshal.Copy(result, 0, (IntPtr)output, result.Length);
                }
                *outputLen = (UIntPtr)result.Length;
                return (uint)ResultCode.Ok;
            }
            catch (Exception e)
            {
                failures.Keep(e);
                return (uint)ResultCode.Crypto;
            }
            finally
            {
                if (data != null) Array.Clear(data, 0, data.Length);
                if (result != null) Array.Clear(result, 0, result.Length);
            }
        }

        private uint MacOf(void* userdata, byte* input, UIntPtr inputLen, byte* macOut)
        {
            byte[] data = null;
            try
            {
                data = Interop.Bytes(input, inputLen);
                byte[] mac = keys.Mac(data);
                if (mac == null || mac.Length != 8)
                {
                    throw new InvalidOperationException("IKeyProvider.Mac returned " +
                        (mac == null ? "null" : mac.Length + " bytes, not 8"));
                }
                Marshal.Copy(mac, 0, (IntPtr)macOut, 8);
                return (uint)ResultCode.Ok;
            }
            catch (Exception e)
            {
                failures.Keep(e);
                return (uint)ResultCode.Crypto;
            }
            finally
            {
                if (data != null) Array.Clear(data, 0, data.Length);
            }
        }
    }

    public sealed unsafe partial class Context
    {
        private CallbackFailures callbackFailures = new CallbackFailures();

        private Exception TakeCallbackFailure() { return callbackFailures.Take(); }

        /// <summary>A card reached through your own transport (an NFC stack, a vendor
        /// SDK, a phone): <paramref name="transmit"/> sends one command APDU and returns
        /// the card's response including its status word. It runs on the thread that
        /// reads, and is kept alive as long as the context. An exception it throws fails
        /// the operation with a <see cref="TransportException"/> (the same subclass and
        /// code when it throws a <see cref="TransportException"/> itself, such as
        /// <see cref="CardRemovedException"/>) whose InnerException it is. The transport
        /// has no transactions of its own: keep other parties off the card meanwhile.</summary>
        /// <param name="transmit">Command in, response (with SW1 SW2) out.</param>
        /// <param name="atr">The card's ATR, which tells whether it takes extended-length
        /// APDUs; null when unknown (short APDUs are sent).</param>
        /// <returns>A context over the transport.</returns>
        /// <exception cref="CardapArgumentException">An ATR over 33 bytes.</exception>
        public static Context FromTransport(Func<byte[], byte[]> transmit, byte[] atr = null)
        {
            if (transmit == null) throw new ArgumentNullException("transmit");
            var bridge = new TransportBridge(transmit);
            var h = new ContextHandle();
            cardap_context* raw = null;
            byte[] atrBytes = atr == null || atr.Length == 0 ? null : atr;
            fixed (byte* a = atrBytes)
            {
                Interop.Check(NativeMethods.cardap_context_new_transport(bridge.Native, null, a,
                    (UIntPtr)(atrBytes == null ? 0 : atrBytes.Length), &raw));
            }
            h.KeepAlive = bridge;
            h.Set((IntPtr)raw);
            var context = new Context(h);
            context.callbackFailures = bridge.Failures;
            return context;
        }

        /// <summary>Reads the AP a profile describes, as <see cref="Read(Profile)"/> does,
        /// but the mutual authentication asks <paramref name="keys"/> instead of taking
        /// keys from the profile (which then gives only <c>[auth] suite</c>).</summary>
        /// <param name="profile">Which AP to read and how.</param>
        /// <param name="keys">The key provider; its suite must be the profile's.</param>
        /// <returns>The record read.</returns>
        /// <exception cref="CardapSecurityException">The provider failed or holds the wrong keys.</exception>
        /// <exception cref="CardapException">A subclass saying what else failed.</exception>
        public Record Read(Profile profile, IKeyProvider keys)
        {
            if (keys == null) throw new ArgumentNullException("keys");
            var bridge = new KeyBridge(keys, callbackFailures);
            cardap_key_provider* created = null;
            Interop.Check(NativeMethods.cardap_key_provider_new((uint)keys.Suite, bridge.Encrypt, bridge.Decrypt,
                bridge.Mac, null, &created));
            IntPtr provider = (IntPtr)created;
            try
            {
                return ReadWith(profile, (ctx, prof, rec) =>
                    NativeMethods.cardap_context_read_with_keys(ctx, prof, (cardap_key_provider*)provider, rec));
            }
            finally
            {
                NativeMethods.cardap_key_provider_free((cardap_key_provider*)provider);
                GC.KeepAlive(bridge);
            }
        }
    }

    /// <summary>A card found by <see cref="Card.WaitForCard"/>. Read-only.</summary>
    public sealed class CardEvent
    {
        private readonly byte[] atr;

        internal CardEvent(string reader, byte[] atr) { Reader = reader; this.atr = atr; }
        /// <summary>The PC/SC name of the reader holding the card.</summary>
        public string Reader { get; }
        /// <summary>The card's answer to reset (a copy).</summary>
        public byte[] Atr { get { return (byte[])atr.Clone(); } }
    }

    /// <summary>Cards in PC/SC readers.</summary>
    public static unsafe class Card
    {
        /// <summary>Blocks until a card is present in a PC/SC reader (at once when one
        /// already is; readers attached meanwhile count too).</summary>
        /// <param name="reader">An exact reader name or a case-insensitive part of one;
        /// null waits on every reader.</param>
        /// <param name="timeout">How long to wait; null waits without end.</param>
        /// <param name="cancellationToken">Ends the wait from another thread.</param>
        /// <returns>The reader's name and the card's ATR.</returns>
        /// <exception cref="CardapTimeoutException">No card within <paramref name="timeout"/>.</exception>
        /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
        /// <exception cref="ServiceUnavailableException">pcscd is not running.</exception>
        /// <exception cref="UnsupportedException">libcardap was built without PC/SC.</exception>
        public static CardEvent WaitForCard(string reader = null, TimeSpan? timeout = null,
            CancellationToken cancellationToken = default(CancellationToken))
        {
            uint ms = 0;
            if (timeout.HasValue)
            {
                if (timeout.Value < TimeSpan.Zero) throw new ArgumentOutOfRangeException("timeout");
                double total = Math.Ceiling(timeout.Value.TotalMilliseconds);
                ms = total < 1 ? 1 : total >= uint.MaxValue ? uint.MaxValue : (uint)total;
            }
            byte[] name = null;
            if (reader != null)
            {
                if (reader.IndexOf('\0') >= 0) throw new ArgumentException("a reader name holds no NUL", "reader");
                byte[] text = new UTF8Encoding(false, true).GetBytes(reader);
                name = new byte[text.Length + 1];
                Array.Copy(text, name, text.Length);
            }
            cancellationToken.ThrowIfCancellationRequested();
            cardap_cancel* cancel = null;
            Interop.Check(NativeMethods.cardap_cancel_new(&cancel));
            IntPtr token = (IntPtr)cancel;
            try
            {
                cardap_card_event* ev = null;
                cardap_result r;
                using (cancellationToken.Register(() => NativeMethods.cardap_cancel_trigger((cardap_cancel*)token)))
                {
                    fixed (byte* n = name)
                    {
                        r = NativeMethods.cardap_wait_for_card(n, ms, cancel, &ev);
                    }
                }
                if (r == cardap_result.Cancelled)
                {
                    throw new OperationCanceledException(Interop.LastError(), cancellationToken);
                }
                Interop.Check(r);
                try
                {
                    byte* s;
                    UIntPtr len;
                    Interop.Check(NativeMethods.cardap_card_event_reader(ev, &s, &len));
                    string found = Interop.Utf8(s, len);
                    Interop.Check(NativeMethods.cardap_card_event_atr(ev, &s, &len));
                    return new CardEvent(found, Interop.Bytes(s, len));
                }
                finally
                {
                    NativeMethods.cardap_card_event_free(ev);
                }
            }
            finally
            {
                NativeMethods.cardap_cancel_free(cancel);
            }
        }
    }

    /// <summary>The levels of log events (<c>1</c> error to <c>5</c> trace).</summary>
    public enum LogLevel : uint
    {
        /// <summary>An operation failed.</summary>
        Error = 1,
        /// <summary>Something unusual that the library handled.</summary>
        Warn = 2,
        /// <summary>An operation's outcome.</summary>
        Info = 3,
        /// <summary>An operation's steps.</summary>
        Debug = 4,
        /// <summary>Everything.</summary>
        Trace = 5,
    }

    /// <summary>One log event of the library. Never holds keys, PINs or card data.</summary>
    public sealed class LogEvent : EventArgs
    {
        internal LogEvent(LogLevel level, string target, string message)
        {
            Level = level;
            Target = target;
            Message = message;
        }

        /// <summary>How important it is.</summary>
        public LogLevel Level { get; }
        /// <summary>Where it comes from (<c>cardap::ffi</c>, <c>cardap::…</c>).</summary>
        public string Target { get; }
        /// <summary>The text, with the names of the operations it belongs to first
        /// (<c>read: …</c>).</summary>
        public string Message { get; }

        /// <summary>The event as one line.</summary>
        /// <returns><c>LEVEL target: message</c>.</returns>
        public override string ToString() { return Level + " " + Target + ": " + Message; }
    }

    /// <summary>The library's log events, process-wide. Subscribing to
    /// <see cref="Event"/> turns them on; they come from whichever thread runs a
    /// cardap operation.</summary>
    public static unsafe class Log
    {
        private static readonly object gate = new object();
        private static EventHandler<LogEvent> handlers;
        private static LogLevel maxLevel = LogLevel.Info;
        // Made once and never released: a thread may still be inside it when
        // logging is turned off.
        private static readonly NativeMethods.cardap_set_log_callback_callback_delegate native = Deliver;

        /// <summary>Raised for every event at <see cref="MaxLevel"/> or more important.
        /// A handler that throws does not disturb the operation (its exception is
        /// dropped).</summary>
        public static event EventHandler<LogEvent> Event
        {
            add
            {
                lock (gate)
                {
                    handlers += value;
                    Register();
                }
            }
            remove
            {
                lock (gate)
                {
                    handlers -= value;
                    Register();
                }
            }
        }

        /// <summary>The least important level delivered (default <see cref="LogLevel.Info"/>);
        /// less important events are not even built.</summary>
        public static LogLevel MaxLevel
        {
            get { lock (gate) return maxLevel; }
            set
            {
                if (value < LogLevel.Error || value > LogLevel.Trace) throw new ArgumentOutOfRangeException("value");
                lock (gate)
                {
                    maxLevel = value;
                    Register();
                }
            }
        }

        private static void Register()
        {
            if (handlers == null)
            {
                Interop.Check(NativeMethods.cardap_set_log_callback(null, null, 0));
            }
            else
            {
                Interop.Check(NativeMethods.cardap_set_log_callback(native, null, (uint)maxLevel));
            }
        }

        private static void Deliver(void* userdata, uint level, byte* target, UIntPtr targetLen, byte* message,
            UIntPtr messageLen)
        {
            try
            {
                EventHandler<LogEvent> current = handlers;
                if (current == null) return;
                var ev = new LogEvent((LogLevel)level, Interop.Utf8(target, targetLen), Interop.Utf8(message, messageLen));
                foreach (EventHandler<LogEvent> handler in current.GetInvocationList())
                {
                    try
                    {
                        handler(null, ev);
                    }
                    catch (Exception)
                    {
                        // A subscriber's bug must not cross into native code.
                    }
                }
            }
            catch (Exception)
            {
                // Nor may a text that is not UTF-8.
            }
        }
    }
}
