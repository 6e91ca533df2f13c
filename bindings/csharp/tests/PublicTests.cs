// Tests of the C# layer for the card's public APs (JPKI, kenhojo), run by
// CardapTests.exe (PublicTests.RunAll) on examples/cards/public.toml.
using System;
using System.IO;
using System.Text;
using Cardap;

static class PublicTests
{
    static string examples;

    static Context Card() { return Context.VirtualCard(Path.Combine(examples, "cards", "public.toml")); }
    static byte[] B(string s) { return Encoding.ASCII.GetBytes(s); }

    static void Check(bool condition, string what)
    {
        if (!condition) throw new Exception("check failed: " + what);
    }

    static void Throws<T>(Action action, string what) where T : Exception
    {
        try { action(); }
        catch (T) { return; }
        throw new Exception(what + ": no " + typeof(T).Name);
    }

    internal static void RunAll(Action<string, Action> run, string examplesDir)
    {
        examples = examplesDir;
        run("info and PIN status", () =>
        {
            using (var card = Card())
            {
                Check(card.CardInfoJson().Contains("\"card\":\"mynumber\""), "mynumber");
                PinStatus s = card.GetPinStatus();
                Check(s.JpkiAuth == 3 && s.JpkiSign == 5 && s.Kenhojo == 3, "3/5/3");
            }
        });
        run("certificates and signatures", () =>
        {
            using (var card = Card())
            {
                byte[] auth = card.GetJpkiCertificate(JpkiCertificate.Auth);
                Check(auth.Length > 900 && auth[0] == 0x30, "auth DER");
                byte[] sign = card.GetJpkiCertificate(JpkiCertificate.Sign, B("SAMPLE1"));
                Check(sign.Length > 900, "sign DER");
                Throws<CardapArgumentException>(() => card.GetJpkiCertificate(JpkiCertificate.Sign), "no PIN");
                byte[] sig = card.JpkiSign(JpkiKey.Auth, B("data"), B("1234"), HashAlgorithm.Sha384);
                Check(sig.Length == 256, "256-byte signature");
            }
        });
        run("kenhojo", () =>
        {
            using (var card = Card())
            {
                string json = card.KenhojoJson(B("1234"), myNumber: true, verify: true);
                Check(json.Contains("\"birth_date\":\"1980-04-01\""), "birth date");
                Check(json.Contains("\"my_number\":\"123456789018\""), "My Number");
                Check(json.Contains("\"signature\":\"not_checked\""), "signature not checked");
                Check(json.Contains("見本"), "UTF-8 name");
            }
        });
        run("PIN errors and the floor", () =>
        {
            using (var card = Card())
            {
                Throws<MalformedPinException>(() => card.KenhojoJson(B("123")), "malformed");
                try { card.KenhojoJson(B("0000")); throw new Exception("no error"); }
                catch (WrongPinException e) { Check(e.Message.Contains("2 tries left"), e.Message); }
                Throws<WrongPinException>(() => card.KenhojoJson(B("0000")), "wrong");
                Throws<PinFloorException>(() => card.KenhojoJson(B("1234")), "floor");
                card.PinFloor = 0;
                Throws<WrongPinException>(() => card.KenhojoJson(B("0000")), "last try");
                Throws<PinBlockedException>(() => card.KenhojoJson(B("1234")), "blocked");
                Check(card.GetPinStatus().Kenhojo == 0, "0 left");
            }
        });
        run("a wrong verification key", () =>
        {
            using (var card = Card())
            {
                byte[] auth = card.GetJpkiCertificate(JpkiCertificate.Auth);
                Throws<DataVerificationException>(() => card.KenhojoJson(B("1234"), verify: true, verifyKey: auth), "mismatch");
            }
        });
    }
}
