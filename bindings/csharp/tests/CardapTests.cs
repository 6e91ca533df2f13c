// Tests of the C# layer, compiled with mcs and run with mono by
// scripts/test-ffi.sh (no test framework needed):
//
//   CardapTests.exe EXAMPLES_DIR     (the repository's examples/ directory)
//
// With CARDAP_TEST_READER set, also reads the demo card through that PC/SC
// reader; tests/HookTests.cs says what else its tests of the hooks need. Ends with "N passed, M failed"; exits 1 on any failure.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
// Imported on purpose: the wrapper's names must not clash with these (CS0104).
using System.Net;
using System.Security;
using System.Security.Authentication;
using System.Threading;
using Cardap;

static class CardapTests
{
    static string examples;
    static int passed, failed;

    const string LibraryJson =
        "{\"name\":\"city-library\",\"type\":\"C\",\"aid\":\"F0434152444150430001\",\"user_id\":\"1001000000019\"," +
        "\"info\":{\"info1\":\"4C4942\",\"info2\":\"00123456\",\"info3\":\"07\"}," +
        "\"fields\":{\"branch\":\"LIB\",\"member_no\":\"00123456\"},\"apdus\":2}";
    const string KioskJson =
        "{\"name\":\"staff-kiosk\",\"type\":\"A\",\"aid\":\"F0434152444150410007\",\"user_id\":\"2007000000029\"," +
        "\"info\":{\"info1\":\"53544146462D3031\",\"info2\":\"20250401\"}," +
        "\"fields\":{\"staff_no\":\"STAFF-01\",\"valid_from\":\"20250401\"},\"apdus\":4}";

    static string Card { get { return Path.Combine(examples, "cards", "demo.toml"); } }
    static Profile Load(string name) { return Profile.FromFile(Path.Combine(examples, "profiles", name + ".toml")); }
    static string ProfileText(string name) { return File.ReadAllText(Path.Combine(examples, "profiles", name + ".toml")); }
    static string Hex(byte[] b) { return BitConverter.ToString(b).Replace("-", ""); }

    static void Check(bool condition, string what)
    {
        if (!condition) throw new Exception("check failed: " + what);
    }

    static void Equal<T>(T want, T got, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(want, got))
            throw new Exception(what + ": wanted <" + want + ">, got <" + got + ">");
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

    static void ReadsDemo(Context card, int kioskApdus)
    {
        using (var library = Load("library"))
        using (var kiosk = Load("kiosk"))
        using (var evacuee = Load("evacuee"))
        {
            Record c = card.Read(library);
            Equal(ApType.C, c.Type, "type C");
            Equal(LibraryJson, c.Json, "Type C JSON");
            Equal("LIB", System.Text.Encoding.ASCII.GetString(c.Info["info1"]), "info1");
            Check(c.Data == null, "Type C has no data");

            Record a = card.Read(kiosk);
            Equal(ApType.A, a.Type, "type A");
            Equal(KioskJson.Replace("\"apdus\":4", "\"apdus\":" + kioskApdus), a.Json, "Type A JSON");
            Equal("2007000000029", a.UserId, "user ID");
            Equal("F0434152444150410007", Hex(a.Aid), "AID");
            Equal("STAFF-01", a.Fields["staff_no"], "staff_no");
            Equal(kioskApdus, a.Apdus, "APDUs");

            Record d = card.Read(evacuee);
            Equal(ApType.D, d.Type, "type D");
            Equal(242, d.Data.Length, "Type D data");
            Equal("山田 花子", d.Fields["name"], "name");
            Equal("19850412", d.Fields["birth_date"], "birth_date");
            Equal(0, d.Info.Count, "Type D has no info");
        }
    }

    static void Run(string name, Action test)
    {
        try
        {
            test();
            passed++;
            Console.WriteLine("ok   " + name);
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine("FAIL " + name + ": " + e.Message);
        }
    }

    static int Main(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: CardapTests.exe EXAMPLES_DIR");
            return 2;
        }
        examples = args[0];

        Run("reads Type C, A and D from a virtual card file", () =>
        {
            using (var card = Context.VirtualCard(Card)) ReadsDemo(card, 4);
        });

        Run("reads from a virtual card string with short APDUs", () =>
        {
            using (var card = Context.VirtualCardFromString(File.ReadAllText(Card)))
            {
                card.ShortApdus = true;
                Check(card.ShortApdus, "ShortApdus");
                ReadsDemo(card, 7);
            }
        });

        Run("profiles from text and their properties", () =>
        {
            using (var p = Profile.FromString(ProfileText("evacuee")))
            {
                Equal("evacuee-record", p.Name, "name");
                Equal(ApType.D, p.Type, "type");
                Equal("F0434152444150440003", Hex(p.Aid), "AID");
            }
        });

        Run("writes info fields and reads them back", () =>
        {
            using (var card = Context.VirtualCard(Card))
            using (var library = Profile.FromFile(Path.Combine(examples, "profiles", "library.toml")))
            using (var evacuee = Profile.FromFile(Path.Combine(examples, "profiles", "evacuee.toml")))
            {
                Equal(5, card.Write(library, "info2=00888888", "branch=WEST"), "APDUs");
                var rec = card.Read(library);
                Equal("00888888", rec.Fields["member_no"], "member_no");
                Equal("WEST", rec.Fields["branch"], "branch");
                Equal(4, card.Write(evacuee, "data@13=E5B1B1"), "APDUs");
                Equal("E5B1B1", Hex(card.Read(evacuee).Data).Substring(0, 6), "data");
                var e = Throws<CardapArgumentException>(() => card.Write(evacuee, "data@0=3030"));
                Equal(ResultCode.InvalidWrite, e.Code, "code");
            }
        });

        Run("the loading desk installs, lists, moves out and deletes", () =>
        {
            string dir = Path.Combine(Path.GetTempPath(), "cardap-cs-desk-" + System.Diagnostics.Process.GetCurrentProcess().Id);
            Directory.CreateDirectory(dir);
            string desk = Path.Combine(dir, "issuer.toml");
            File.WriteAllText(desk, File.ReadAllText(Path.Combine(examples, "issuer.toml")));
            string cardFile = Path.Combine(dir, "card.toml");
            File.WriteAllText(cardFile, File.ReadAllText(Card));
            using (var card = Context.VirtualCard(cardFile))
            using (var issuer = Issuer.FromFile(desk))
            {
                string profilePath = Path.Combine(dir, "taxi.toml");
                byte[] aid = { 0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x44, 0x04, 0x00 };
                string userId = card.Install(issuer, ApType.D, Area.Local, aid, "evac", profilePath, 3, "data=0102");
                Equal(13, userId.Length, "user ID length");
                using (var p = Profile.FromFile(profilePath))
                {
                    Equal(userId, card.Read(p).UserId, "user ID read back");
                    Equal(4, card.Write(p, "data@13=AABB"), "write");
                    Equal("AABB", Hex(card.Read(p).Data).Substring(0, 4), "data");
                }
                Check(card.ListArea(issuer, Area.Local).Contains(userId), "listed");
                var e = Throws<StatusWordException>(() => card.Install(issuer, ApType.C, Area.Local, aid, "x", Path.Combine(dir, "x.toml")));
                Equal((ushort)0x6A89, e.StatusWord.Value, "duplicate AID");
                Equal(2, card.MoveOut(issuer), "moved out");
                card.DeleteAp(issuer, new byte[] { 0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x41, 0x00, 0x07 });
                Throws<ApNotFoundException>(() => card.DeleteAp(issuer, new byte[] { 0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x41, 0x00, 0x07 }));
            }
            Directory.Delete(dir, true);
        });

        Run("lists the APs", () =>
        {
            using (var card = Context.VirtualCard(Card))
            {
                var entries = card.List();
                Equal(3, entries.Count, "count");
                Equal("staff ID kiosk", entries[1].Label, "label");
                Equal("F0434152444150430001", Hex(entries[0].Aid), "AID");
            }
        });

        Run("profile errors", () =>
        {
            var e = Throws<ProfileException>(() => Profile.FromString("name = \"x\"\ntype = \"A\"\naid = \"F0 43 41 52 44 41 50 41 00 07\"\n"));
            Equal(ResultCode.ProfileInvalid, e.Code, "code");
            Check(e.Message.Contains("auth"), e.Message);
            e = Throws<ProfileException>(() => Profile.FromFile(Path.Combine(examples, "profiles", "missing.toml")));
            Equal(ResultCode.ProfileIo, e.Code, "code");
        });

        Run("card description errors", () =>
        {
            var e = Throws<CardDescriptionException>(() => Context.VirtualCardFromString("[[ap]]\ntype = \"Q\"\n"));
            Equal(ResultCode.CardDescriptionInvalid, e.Code, "code");
            e = Throws<CardDescriptionException>(() => Context.VirtualCard(Path.Combine(examples, "cards", "missing.toml")));
            Equal(ResultCode.CardDescriptionIo, e.Code, "code");
        });

        Run("wrong keys and an absent AP", () =>
        {
            using (var card = Context.VirtualCard(Card))
            using (var wrong = Profile.FromString(ProfileText("kiosk").Replace("101112131415161718191A1B1C1D1E1F", new string('0', 32))))
            using (var absent = Profile.FromString(ProfileText("library").Replace("43 00 01", "43 00 99")))
            using (var library = Load("library"))
            {
                var e = Throws<MutualAuthenticationException>(() => card.Read(wrong));
                Check(e is CardapSecurityException, "a CardapSecurityException");
                Equal(ResultCode.AuthFailed, e.Code, "code");
                Check(!e.Message.Contains("0000000000") && !e.Message.Contains("0A0B0C"), "no key in the message");
                var n = Throws<ApNotFoundException>(() => card.Read(absent));
                Check(n.Message.Contains("F0434152444150430099"), n.Message);
                Equal(LibraryJson, card.Read(library).Json, "still usable");
            }
        });

        Run("bad arguments and disposed objects", () =>
        {
            var e = Throws<CardapArgumentException>(() => Profile.FromFile("a\0b"));
            Equal(ResultCode.InvalidArgument, e.Code, "code");
            Throws<ArgumentNullException>(() => Profile.FromFile(null));
            Throws<ArgumentNullException>(() => Context.VirtualCard(null));
            Throws<ProfileException>(() => Profile.FromString(""));  // empty text is a profile, just not a valid one
            var card = Context.VirtualCard(Card);
            Throws<ArgumentNullException>(() => card.Read(null));
            var p = Load("library");
            card.Dispose();
            card.Dispose();
            Throws<ObjectDisposedException>(() => card.Read(p));
            p.Dispose();
            Throws<ObjectDisposedException>(() => { var unused = p.Name; });
        });

        Run("records are read-only", () =>
        {
            using (var card = Context.VirtualCard(Card))
            using (var library = Load("library"))
            {
                Record c = card.Read(library);
                c.Aid[0] = 0;
                c.Info["info1"][0] = 0;
                foreach (var entry in c.Info) entry.Value[0] = 0;
                Equal("F0434152444150430001", Hex(c.Aid), "AID unchanged");
                Equal("4C4942", Hex(c.Info["info1"]), "info1 unchanged");
                Equal("info1,info2,info3", string.Join(",", c.Info.Keys), "info order");
                Check(!(c.Info is IDictionary<string, byte[]>), "Info is not a mutable dictionary");
                Check(!(c.Fields is IDictionary<string, string>), "Fields is not a mutable dictionary");
                Check(typeof(Record).GetProperties().All(p => p.GetSetMethod(true) == null), "no setters");
                var entries = card.List();
                Throws<NotSupportedException>(() => ((IList<ApEntry>)entries).Add(null));
                entries[0].Aid[0] = 0;
                Equal("F0434152444150430001", Hex(entries[0].Aid), "list AID unchanged");
            }
        });

        Run("exception names do not clash with System's (this file imports System.Security and friends)", () =>
        {
            var types = new[]
            {
                typeof(CardapException), typeof(CardapArgumentException), typeof(UnsupportedException),
                typeof(TransportException),
                typeof(CardRemovedException), typeof(NoCardException), typeof(ReaderUnavailableException),
                typeof(ServiceUnavailableException), typeof(CardapTimeoutException), typeof(CardException),
                typeof(StatusWordException), typeof(ApNotFoundException), typeof(CardapSecurityException),
                typeof(MutualAuthenticationException), typeof(IntegrityException), typeof(NoKeysException),
                typeof(CardDataException),
                typeof(ProfileException), typeof(CardDescriptionException),
            };
            Check(types.All(t => t.Namespace == "Cardap"), "all in Cardap");
            // The namespaces an application commonly imports beside Cardap.
            var imported = new HashSet<string>
            {
                "System", "System.IO", "System.Net", "System.Security", "System.Security.Authentication",
                "System.Threading", "System.Threading.Tasks", "System.Text", "System.Collections.Generic",
            };
            var system = typeof(object).Assembly.GetTypes().Concat(typeof(Uri).Assembly.GetTypes())
                .Concat(typeof(AuthenticationException).Assembly.GetTypes())
                .Concat(typeof(Enumerable).Assembly.GetTypes())
                .Where(t => t.IsPublic && imported.Contains(t.Namespace)).Select(t => t.Name).ToLookup(n => n);
            foreach (var t in typeof(Context).Assembly.GetExportedTypes())
                Check(!system.Contains(t.Name), t.Name + " clashes with a System type");
        });

        Run("a context is shared by threads", () =>
        {
            using (var card = Context.VirtualCard(Card))
            using (var kiosk = Load("kiosk"))
            {
                var results = new List<string>();
                var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
                {
                    for (int i = 0; i < 5; i++)
                    {
                        string json = card.Read(kiosk).Json;
                        lock (results) results.Add(json);
                    }
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
                Equal(20, results.Count(r => r == KioskJson), "reads");
            }
        });

        Run("result codes match the generated P/Invoke enum", () =>
        {
            Type generated = typeof(Context).Assembly.GetType("Cardap.Native.cardap_result", true);
            var names = Enum.GetNames(generated);
            Equal(names.Length, Enum.GetNames(typeof(ResultCode)).Length, "count");
            foreach (string name in names)
            {
                var ours = (ResultCode)Enum.Parse(typeof(ResultCode), name);
                Equal(Convert.ToUInt32(Enum.Parse(generated, name)), (uint)ours, name);
                Check(Library.ResultText(ours).Length > 0, "text of " + name);
            }
            Type types = typeof(Context).Assembly.GetType("Cardap.Native.cardap_ap_type", true);
            foreach (string name in Enum.GetNames(types))
                Equal(Convert.ToUInt32(Enum.Parse(types, name)), (uint)(ApType)Enum.Parse(typeof(ApType), name), name);
            Equal("mutual authentication failed", Library.ResultText(ResultCode.AuthFailed), "text");
            Equal("unknown error", Library.ResultText((ResultCode)12345), "unknown code");
        });

        Run("version", () =>
        {
            Check(System.Text.RegularExpressions.Regex.IsMatch(Library.Version, @"^\d+\.\d+\.\d+"), Library.Version);
        });

        Run("readers answer with a list or ServiceUnavailable", () =>
        {
            try
            {
                foreach (var r in Library.Readers()) Check(r.Name.Length > 0, "reader name");
            }
            catch (ServiceUnavailableException)
            {
            }
        });

        HookTests.RunAll(Run, examples, LibraryJson, KioskJson);

        string reader = Environment.GetEnvironmentVariable("CARDAP_TEST_READER");
        if (!string.IsNullOrEmpty(reader))
        {
            Run("reads Type C, A and D through PC/SC", () =>
            {
                using (var card = Context.Pcsc(reader)) ReadsDemo(card, 4);
            });
        }

        Console.WriteLine(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }
}
