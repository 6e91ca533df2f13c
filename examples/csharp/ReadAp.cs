// ReadAp: reads one card AP and prints the JSON object `cardap read` prints.
//
//   mono ReadAp.exe --profile FILE --virtual-card CARD.toml   (in-process virtual card)
//   mono ReadAp.exe --profile FILE --reader NAME              (a card in a PC/SC reader)
//
// Build with Mono (see README: "C, Python, C# and Rust"):
//   mcs -unsafe -target:library -out:Cardap.dll bindings/csharp/*.cs
//   mcs -r:Cardap.dll -out:ReadAp.exe examples/csharp/ReadAp.cs
// and run it with libcardap.so beside the exe or on LD_LIBRARY_PATH.
using System;
using Cardap;

static class ReadAp
{
    static int Usage()
    {
        Console.Error.WriteLine("usage: ReadAp --profile FILE (--reader NAME | --virtual-card CARD.toml)");
        return 2;
    }

    static int Main(string[] args)
    {
        string profilePath = null, reader = null, card = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (i + 1 < args.Length && args[i] == "--profile") profilePath = args[++i];
            else if (i + 1 < args.Length && args[i] == "--reader") reader = args[++i];
            else if (i + 1 < args.Length && args[i] == "--virtual-card") card = args[++i];
            else return Usage();
        }
        if (profilePath == null || (reader == null) == (card == null)) return Usage();

        try
        {
            using (var profile = Profile.FromFile(profilePath))
            using (var context = card != null ? Context.VirtualCard(card) : Context.Pcsc(reader))
            {
                Console.WriteLine(context.Read(profile).Json);
            }
            return 0;
        }
        catch (CardapException e)
        {
            Console.Error.WriteLine("ReadAp: " + e.Code + ": " + e.Message);
            return 1;
        }
    }
}
