// Tests of the embedding hooks from C#: a transport delegate (the demo card
// served by `cardap sim`, whose vpcd framing the test speaks itself, and a
// PC/SC transport through P/Invoke to libpcsclite), waiting for a card with a
// timeout and a CancellationToken, a key provider holding its keys in C#, and
// log events. Environment: CARDAP_BIN (the cardap CLI, for the vpcd card);
// CARDAP_TEST_READER (a reader holding the demo card); CARDAP_TEST_EMPTY_READER
// and CARDAP_TEST_EMPTY_PORT (an empty vpcd reader and its port).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading;
using Cardap;

static class HookTests
{
    static readonly byte[] KioskEnc = Hex("000102030405060708090A0B0C0D0E0F");
    static readonly byte[] KioskMac = Hex("101112131415161718191A1B1C1D1E1F");
    static readonly byte[] EvacueeEnc = Hex("404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F");
    static readonly byte[] EvacueeMac = Hex("606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F");

    static byte[] Hex(string h)
    {
        return Enumerable.Range(0, h.Length / 2).Select(i => Convert.ToByte(h.Substring(2 * i, 2), 16)).ToArray();
    }

    static string ToHex(byte[] b) { return BitConverter.ToString(b).Replace("-", ""); }

    /// A profile without keys: [auth] gives the suite only.
    static Profile Keyless(string examples, string name)
    {
        var lines = File.ReadAllLines(Path.Combine(examples, "profiles", name + ".toml"))
            .Where(l => !l.StartsWith("k_enc") && !l.StartsWith("k_mac"));
        return Profile.FromString(string.Join("\n", lines));
    }

    /// `cardap sim` connected to a vpcd-style server of ours.
    sealed class VpcdCard : IDisposable
    {
        readonly Process process;
        readonly TcpClient client;
        readonly NetworkStream stream;
        public readonly byte[] Atr;
        public readonly List<byte[]> Commands = new List<byte[]>();

        public VpcdCard(string cardapBin, string card)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            process = Process.Start(new ProcessStartInfo(cardapBin, "sim --card \"" + card + "\" --port " + port)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            var accept = listener.AcceptTcpClientAsync();
            if (!accept.Wait(20000)) throw new Exception("cardap sim did not connect");
            listener.Stop();
            client = accept.Result;
            client.NoDelay = true;
            stream = client.GetStream();
            Send(new byte[] { 0x01 });  // power on
            Send(new byte[] { 0x04 });  // get ATR
            Atr = Receive();
        }

        void Send(byte[] payload)
        {
            var frame = new byte[payload.Length + 2];
            frame[0] = (byte)(payload.Length >> 8);
            frame[1] = (byte)payload.Length;
            Array.Copy(payload, 0, frame, 2, payload.Length);
            stream.Write(frame, 0, frame.Length);
        }

        byte[] Exact(int n)
        {
            var data = new byte[n];
            for (int got = 0; got < n;)
            {
                int r = stream.Read(data, got, n - got);
                if (r <= 0) throw new IOException("the virtual card went away");
                got += r;
            }
            return data;
        }

        byte[] Receive()
        {
            byte[] header = Exact(2);
            return Exact(header[0] << 8 | header[1]);
        }

        public byte[] Transmit(byte[] command)
        {
            Commands.Add(command);
            Send(command);
            return Receive();
        }

        public void Dispose()
        {
            client.Close();
            if (!process.HasExited) process.Kill();
            process.WaitForExit(10000);
        }
    }

    /// Keys held by this object (standing in for an HSM); the cryptography is
    /// .NET's, with AES-CMAC written out here.
    sealed class SoftKeys : IKeyProvider
    {
        readonly byte[] kEnc, kMac;
        public readonly List<string> Calls = new List<string>();
        public Func<string, byte[], byte[]> Tamper = (method, result) => result;

        public SoftKeys(Suite suite, byte[] kEnc, byte[] kMac)
        {
            Suite = suite;
            this.kEnc = kEnc;
            this.kMac = kMac;
        }

        public Suite Suite { get; }

        static byte[] Cbc(byte[] key, byte[] data, bool encrypt)
        {
            using (var aes = Aes.Create())
            {
                aes.Mode = CipherMode.CBC;
                aes.Padding = PaddingMode.None;
                aes.Key = key;
                aes.IV = new byte[16];
                using (var t = encrypt ? aes.CreateEncryptor() : aes.CreateDecryptor())
                    return t.TransformFinalBlock(data, 0, data.Length);
            }
        }

        static byte[] Shift(byte[] b)
        {
            var r = new byte[16];
            for (int i = 0; i < 16; i++) r[i] = (byte)(b[i] << 1 | (i < 15 ? b[i + 1] >> 7 : 0));
            if ((b[0] & 0x80) != 0) r[15] ^= 0x87;
            return r;
        }

        static byte[] Cmac(byte[] key, byte[] data)
        {
            byte[] k1 = Shift(Cbc(key, new byte[16], true));
            byte[] k2 = Shift(k1);
            int blocks = Math.Max(1, (data.Length + 15) / 16);
            bool whole = data.Length > 0 && data.Length % 16 == 0;
            var m = new byte[blocks * 16];
            Array.Copy(data, m, data.Length);
            if (!whole) m[data.Length] = 0x80;
            byte[] sub = whole ? k1 : k2;
            for (int i = 0; i < 16; i++) m[m.Length - 16 + i] ^= sub[i];
            byte[] c = Cbc(key, m, true);
            return c.Skip(c.Length - 16).ToArray();
        }

        public byte[] Encrypt(byte[] data) { Calls.Add("encrypt"); return Tamper("encrypt", Cbc(kEnc, data, true)); }
        public byte[] Decrypt(byte[] data) { Calls.Add("decrypt"); return Tamper("decrypt", Cbc(kEnc, data, false)); }

        public byte[] Mac(byte[] data)
        {
            Calls.Add("mac");
            // ISO/IEC 9797-1 padding method 2, then AES-CMAC cut to 8 bytes.
            var padded = new byte[(data.Length / 16 + 1) * 16];
            Array.Copy(data, padded, data.Length);
            padded[data.Length] = 0x80;
            return Tamper("mac", Cmac(kMac, padded).Take(8).ToArray());
        }
    }

    // --- libcardap's own PC/SC, bypassed: P/Invoke to libpcsclite (LP64 Linux) ---

    [StructLayout(LayoutKind.Sequential)]
    struct IoRequest
    {
        public UIntPtr Protocol;
        public UIntPtr PciLength;
    }

    const string PcscLite = "libpcsclite.so.1";
    [DllImport(PcscLite)] static extern IntPtr SCardEstablishContext(UIntPtr scope, IntPtr r1, IntPtr r2, out IntPtr context);
    [DllImport(PcscLite)] static extern IntPtr SCardReleaseContext(IntPtr context);
    [DllImport(PcscLite)] static extern IntPtr SCardConnect(IntPtr context, string reader, UIntPtr share, UIntPtr protocols, out IntPtr card, out UIntPtr protocol);
    [DllImport(PcscLite)] static extern IntPtr SCardDisconnect(IntPtr card, UIntPtr disposition);
    [DllImport(PcscLite)] static extern IntPtr SCardBeginTransaction(IntPtr card);
    [DllImport(PcscLite)] static extern IntPtr SCardEndTransaction(IntPtr card, UIntPtr disposition);
    [DllImport(PcscLite)] static extern IntPtr SCardTransmit(IntPtr card, ref IoRequest send, byte[] command, UIntPtr commandLength, IntPtr receivePci, byte[] response, ref UIntPtr responseLength);

    static void Ok(IntPtr rv, string what)
    {
        if (rv != IntPtr.Zero) throw new Exception(what + " failed: 0x" + rv.ToInt64().ToString("X"));
    }

    internal static void RunAll(Action<string, Action> run, string examples, string libraryJson, string kioskJson)
    {
        string card = Path.Combine(examples, "cards", "demo.toml");
        Func<string, Profile> load = name => Profile.FromFile(Path.Combine(examples, "profiles", name + ".toml"));
        string cardapBin = Environment.GetEnvironmentVariable("CARDAP_BIN");

        if (!string.IsNullOrEmpty(cardapBin))
        {
            run("transport delegate reads Type C, A and D (vpcd card)", () =>
            {
                using (var vpcd = new VpcdCard(cardapBin, card))
                using (var ctx = Context.FromTransport(vpcd.Transmit, vpcd.Atr))
                using (var library = load("library"))
                using (var kiosk = load("kiosk"))
                using (var evacuee = load("evacuee"))
                {
                    Check(ctx.Read(library).Json == libraryJson, "Type C JSON");
                    Check(ctx.Read(kiosk).Json == kioskJson, "Type A JSON");
                    Record d = ctx.Read(evacuee);
                    Check(d.Fields["name"] == "山田 花子" && d.Apdus == 4, "Type D, extended length");
                    Check(vpcd.Commands.Count == 10, "10 commands, got " + vpcd.Commands.Count);
                    Check(ctx.List().Count == 3, "list");
                }
            });

            run("transport delegate without an ATR sends short APDUs; it is kept alive", () =>
            {
                using (var vpcd = new VpcdCard(cardapBin, card))
                using (var evacuee = load("evacuee"))
                {
                    var ctx = Context.FromTransport(command => vpcd.Transmit(command));
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    GC.Collect();
                    Check(ctx.Read(evacuee).Apdus == 5, "short APDUs");
                    ctx.Dispose();
                }
            });

            run("exceptions of a transport delegate become TransportExceptions", () =>
            {
                using (var vpcd = new VpcdCard(cardapBin, card))
                using (var library = load("library"))
                {
                    Exception toThrow = null;
                    byte[] reply = null;
                    using (var ctx = Context.FromTransport(command =>
                    {
                        if (toThrow != null) throw toThrow;
                        return reply ?? vpcd.Transmit(command);
                    }))
                    {
                        toThrow = new InvalidOperationException("the NFC stack fell over");
                        var e = Throws<TransportException>(() => ctx.Read(library));
                        Check(e.GetType() == typeof(TransportException) && e.Code == ResultCode.TransportFailure, "transport failure");
                        Check(e.InnerException == toThrow, "the delegate's exception is the inner one");
                        Check(!e.Message.StartsWith("cardap_"), e.Message);

                        toThrow = new CardRemovedException(ResultCode.CardRemoved, "the phone moved away");
                        var removed = Throws<CardRemovedException>(() => ctx.Read(library));
                        Check(removed.Code == ResultCode.CardRemoved, "card removed");

                        toThrow = null;
                        foreach (var bad in new[] { new byte[] { 0x90 }, new byte[70000] })
                        {
                            reply = bad;
                            Throws<TransportException>(() => ctx.Read(library));
                        }
                        reply = null;
                        Check(ctx.Read(library).Json == libraryJson, "still usable");
                    }
                    using (var ctx = Context.FromTransport(command => null))
                        Throws<TransportException>(() => ctx.Read(library));
                    Throws<ArgumentNullException>(() => Context.FromTransport(null));
                    Throws<CardapArgumentException>(() => Context.FromTransport(c => c, new byte[34]));
                }
            });
        }
        else
        {
            Console.WriteLine("skip transport delegate tests: set CARDAP_BIN");
        }

        run("Suite matches the header's cardap_suite", () =>
        {
            string header = File.ReadAllText(Path.Combine(examples, "..", "ffi", "include", "cardap.h"));
            var found = System.Text.RegularExpressions.Regex.Matches(header, @"CARDAP_SUITE_(\w+) = (\d+)")
                .Cast<System.Text.RegularExpressions.Match>()
                .ToDictionary(m => m.Groups[1].Value, m => uint.Parse(m.Groups[2].Value));
            var ours = new Dictionary<string, Suite> { { "3DES", Suite.TripleDes }, { "AES128", Suite.Aes128 }, { "AES256", Suite.Aes256 } };
            Check(found.Count == ours.Count && Enum.GetValues(typeof(Suite)).Length == ours.Count, "count");
            foreach (var pair in ours) Check(found[pair.Key] == (uint)pair.Value, pair.Key);
        });

        run("key provider in C# reads Type A and D; the profile holds no keys", () =>
        {
            using (var ctx = Context.VirtualCard(card))
            using (var kiosk = Keyless(examples, "kiosk"))
            using (var evacuee = Keyless(examples, "evacuee"))
            using (var library = load("library"))
            {
                var kioskKeys = new SoftKeys(Suite.Aes128, KioskEnc, KioskMac);
                Check(ctx.Read(kiosk, kioskKeys).Json == kioskJson, "Type A JSON");
                Check(kioskKeys.Calls.Distinct().OrderBy(c => c).SequenceEqual(new[] { "decrypt", "encrypt", "mac" }), "calls");
                Check(ctx.Read(evacuee, new SoftKeys(Suite.Aes256, EvacueeEnc, EvacueeMac)).Fields["birth_date"] == "19850412", "Type D");
                var unused = new SoftKeys(Suite.Aes128, KioskEnc, KioskMac);
                Check(ctx.Read(library, unused).Json == libraryJson && unused.Calls.Count == 0, "Type C needs no keys");
                var none = Throws<NoKeysException>(() => ctx.Read(kiosk));
                Check(none.Code == ResultCode.NoKeys && none is CardapSecurityException, "no keys");
            }
        });

        run("key provider is used instead of the profile's keys; its failures are security errors", () =>
        {
            string text = File.ReadAllText(Path.Combine(examples, "profiles", "kiosk.toml"));
            using (var ctx = Context.VirtualCard(card))
            using (var wrong = Profile.FromString(text.Replace("101112131415161718191A1B1C1D1E1F", new string('0', 32))))
            using (var kiosk = Keyless(examples, "kiosk"))
            {
                Throws<MutualAuthenticationException>(() => ctx.Read(wrong));
                Check(ctx.Read(wrong, new SoftKeys(Suite.Aes128, KioskEnc, KioskMac)).Json == kioskJson, "provider wins");
                foreach (string method in new[] { "encrypt", "decrypt", "mac" })
                {
                    var failing = new SoftKeys(Suite.Aes128, KioskEnc, KioskMac);
                    var hsmDown = new IOException("the HSM is offline");
                    failing.Tamper = (m, r) => { if (m == method) throw hsmDown; return r; };
                    var e = Throws<CardapSecurityException>(() => ctx.Read(kiosk, failing));
                    Check(e.InnerException == hsmDown, "inner exception for " + method);
                }
                var shortMac = new SoftKeys(Suite.Aes128, KioskEnc, KioskMac);
                shortMac.Tamper = (m, r) => m == "mac" ? r.Take(7).ToArray() : r;
                Throws<CardapSecurityException>(() => ctx.Read(kiosk, shortMac));
                Throws<CardapSecurityException>(() => ctx.Read(kiosk, new SoftKeys(Suite.Aes128, new byte[16], new byte[16])));
                Throws<CardapSecurityException>(() => ctx.Read(kiosk, new SoftKeys(Suite.Aes256, EvacueeEnc, EvacueeMac)));
                Throws<ArgumentNullException>(() => ctx.Read(kiosk, null));
                Check(ctx.Read(kiosk, new SoftKeys(Suite.Aes128, KioskEnc, KioskMac)).Json == kioskJson, "still usable");
            }
        });

        run("log events reach Log.Event without secrets; unsubscribing stops them", () =>
        {
            var events = new List<LogEvent>();
            EventHandler<LogEvent> collect = (sender, e) => { lock (events) events.Add(e); };
            EventHandler<LogEvent> broken = (sender, e) => { throw new Exception("subscriber bug"); };
            Log.MaxLevel = LogLevel.Trace;
            Log.Event += collect;
            Log.Event += broken;
            try
            {
                using (var ctx = Context.VirtualCard(card))
                using (var library = load("library"))
                using (var kiosk = load("kiosk"))
                using (var evacuee = Keyless(examples, "evacuee"))
                {
                    Check(ctx.Read(library).Json == libraryJson, "reads despite a throwing subscriber");
                    ctx.Read(kiosk);
                    ctx.Read(evacuee, new SoftKeys(Suite.Aes256, EvacueeEnc, EvacueeMac));
                    Throws<MutualAuthenticationException>(() => ctx.Read(Keyless(examples, "kiosk"), new SoftKeys(Suite.Aes128, new byte[16], new byte[16])));
                }
            }
            finally
            {
                Log.Event -= collect;
                Log.Event -= broken;
                Log.MaxLevel = LogLevel.Info;
            }
            Check(events.Count > 0, "events");
            Check(events.Any(e => e.Message.Contains("read")), "read events");
            Check(events.All(e => e.Level >= LogLevel.Error && e.Level <= LogLevel.Trace && e.Target.Length > 0), "levels and targets");
            string all = string.Join("\n", events.Select(e => e.ToString()));
            foreach (var key in new[] { KioskEnc, KioskMac, EvacueeEnc, EvacueeMac })
            {
                string hex = ToHex(key);
                Check(!all.Contains(hex) && !all.Contains(hex.ToLowerInvariant()) && !all.Contains(BitConverter.ToString(key).Replace("-", " ")), "no key bytes");
            }
            foreach (string secret in new[] { "山田", "花子", "STAFF-01", "53544146462D3031" })
                Check(!all.Contains(secret), "no card data: " + secret);
            int seen = events.Count;
            using (var ctx = Context.VirtualCard(card))
            using (var library = load("library"))
                ctx.Read(library);
            Check(events.Count == seen, "no events after unsubscribing");
        });

        string reader = Environment.GetEnvironmentVariable("CARDAP_TEST_READER");
        string emptyReader = Environment.GetEnvironmentVariable("CARDAP_TEST_EMPTY_READER");
        string emptyPort = Environment.GetEnvironmentVariable("CARDAP_TEST_EMPTY_PORT");
        if (string.IsNullOrEmpty(reader))
        {
            Console.WriteLine("skip PC/SC hook tests: set CARDAP_TEST_READER");
            return;
        }

        run("WaitForCard returns a present card at once", () =>
        {
            CardEvent ev = Card.WaitForCard(reader, TimeSpan.FromSeconds(5));
            Check(ev.Reader == reader, ev.Reader);
            Check(ev.Atr.Length > 4 && ev.Atr[0] == 0x3B, "ATR");
            Check(Card.WaitForCard(reader.ToLowerInvariant(), TimeSpan.FromSeconds(5)).Reader == reader, "by part of the name");
            Check(Card.WaitForCard(null, TimeSpan.FromSeconds(5)).Reader == reader, "any reader: the one holding a card");
        });

        run("a PC/SC transport of our own (P/Invoke to libpcsclite) reads Type C, A and D", () =>
        {
            byte[] atr = Card.WaitForCard(reader, TimeSpan.FromSeconds(5)).Atr;
            IntPtr context, handle;
            UIntPtr protocol;
            Ok(SCardEstablishContext(UIntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out context), "SCardEstablishContext");
            try
            {
                Ok(SCardConnect(context, reader, (UIntPtr)2, (UIntPtr)3, out handle, out protocol), "SCardConnect");
                var send = new IoRequest { Protocol = protocol, PciLength = (UIntPtr)16 };
                Func<byte[], byte[]> transmit = command =>
                {
                    var response = new byte[65538];
                    var length = (UIntPtr)response.Length;
                    IntPtr rv = SCardTransmit(handle, ref send, command, (UIntPtr)command.Length, IntPtr.Zero, response, ref length);
                    if (rv != IntPtr.Zero)
                        throw new TransportException(ResultCode.TransportFailure, "SCardTransmit: 0x" + rv.ToInt64().ToString("X"));
                    return response.Take((int)length.ToUInt64()).ToArray();
                };
                Ok(SCardBeginTransaction(handle), "SCardBeginTransaction");
                try
                {
                    using (var ctx = Context.FromTransport(transmit, atr))
                    using (var library = load("library"))
                    using (var kiosk = load("kiosk"))
                    using (var evacuee = Keyless(examples, "evacuee"))
                    {
                        Check(ctx.Read(library).Json == libraryJson, "Type C");
                        Check(ctx.Read(kiosk).Json == kioskJson, "Type A");
                        Check(ctx.Read(evacuee, new SoftKeys(Suite.Aes256, EvacueeEnc, EvacueeMac)).Fields["name"] == "山田 花子", "Type D");
                    }
                }
                finally
                {
                    SCardEndTransaction(handle, UIntPtr.Zero);
                    SCardDisconnect(handle, (UIntPtr)1);
                }
            }
            finally
            {
                SCardReleaseContext(context);
            }
        });

        if (string.IsNullOrEmpty(emptyReader) || string.IsNullOrEmpty(emptyPort))
        {
            Console.WriteLine("skip wait tests on an empty reader: set CARDAP_TEST_EMPTY_READER and CARDAP_TEST_EMPTY_PORT");
            return;
        }

        run("WaitForCard times out on an empty reader", () =>
        {
            var watch = Stopwatch.StartNew();
            var e = Throws<CardapTimeoutException>(() => Card.WaitForCard(emptyReader, TimeSpan.FromMilliseconds(700)));
            Check(e.Code == ResultCode.Timeout && e is TransportException, "timeout code");
            Check(watch.ElapsedMilliseconds >= 600 && watch.ElapsedMilliseconds < 5000, "waited " + watch.ElapsedMilliseconds + " ms");
        });

        run("WaitForCard is cancelled by a CancellationToken from another thread", () =>
        {
            using (var cts = new CancellationTokenSource())
            {
                var watch = Stopwatch.StartNew();
                cts.CancelAfter(500);
                var e = Throws<OperationCanceledException>(() => Card.WaitForCard(emptyReader, null, cts.Token));
                Check(e.CancellationToken == cts.Token, "the token");
                Check(watch.ElapsedMilliseconds >= 400 && watch.ElapsedMilliseconds < 3000, "cancelled after " + watch.ElapsedMilliseconds + " ms");
                Throws<OperationCanceledException>(() => Card.WaitForCard(emptyReader, TimeSpan.FromSeconds(10), cts.Token));
            }
        });

        run("WaitForCard sees a card inserted", () =>
        {
            CardEvent found = null;
            Exception failure = null;
            var waiter = new Thread(() =>
            {
                try { found = Card.WaitForCard(emptyReader, TimeSpan.FromSeconds(20)); }
                catch (Exception e) { failure = e; }
            });
            waiter.Start();
            Thread.Sleep(500);
            Check(waiter.IsAlive, "still waiting before the card comes");
            var sim = Process.Start(new ProcessStartInfo(cardapBin, "sim --card \"" + card + "\" --port " + emptyPort)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            try
            {
                Check(waiter.Join(20000), "the wait ended");
                Check(failure == null, failure == null ? "" : failure.Message);
                Check(found.Reader == emptyReader && found.Atr[0] == 0x3B, "the inserted card");
            }
            finally
            {
                sim.Kill();
                sim.WaitForExit(10000);
            }
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Library.Readers().Any(r => r.Name == emptyReader && r.CardPresent))
            {
                Check(DateTime.UtcNow < deadline, "the card went with the simulator");
                Thread.Sleep(100);
            }
        });
    }

    static void Check(bool condition, string what)
    {
        if (!condition) throw new Exception("check failed: " + what);
    }

    static TException Throws<TException>(Action body) where TException : Exception
    {
        try
        {
            body();
        }
        catch (TException e)
        {
            return e;
        }
        catch (Exception e)
        {
            throw new Exception("wanted " + typeof(TException).Name + ", got " + e.GetType().Name + ": " + e.Message);
        }
        throw new Exception("wanted " + typeof(TException).Name + ", nothing thrown");
    }
}
