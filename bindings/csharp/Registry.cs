// The registry (cardap_registry): members, card statuses (the daily feed and
// the provider's own) and gate decisions, on a SQLite file or a PostgreSQL
// server. Thread safety: calls on one Registry are serialized by a lock (an
// import holds it until it commits); a gate that decides on one thread while
// another imports opens one Registry per thread on the same location.
using System;
using System.Runtime.InteropServices;
using System.Text;
using Cardap.Native;

namespace Cardap
{
    /// <summary>The registry failed (8xx codes).</summary>
    public class RegistryException : CardapException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public RegistryException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    /// <summary>A feed file was refused (every bad line is in the message) or
    /// could not be read; nothing was imported.</summary>
    public class FeedException : RegistryException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public FeedException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    /// <summary>This user ID is already registered for this AP.</summary>
    public class MemberExistsException : RegistryException
    {
        /// <summary>An exception for a result code, with the library's message.</summary>
        /// <param name="code">The C result code.</param>
        /// <param name="message">What failed: the operation and the problem.</param>
        /// <param name="innerException">What caused it; may be null.</param>
        public MemberExistsException(ResultCode code, string message, Exception innerException = null)
            : base(code, message, innerException) { }
    }

    /// <summary>Why a gate says no (<c>cardap_deny_reason</c>).</summary>
    public enum DenyReason : uint
    {
        /// <summary>Allowed: no reason.</summary>
        None = 0,
        /// <summary>No member is registered with this user ID.</summary>
        UnknownUser = 1,
        /// <summary>The card is suspended.</summary>
        Suspended = 2,
        /// <summary>The card is abolished.</summary>
        Abolished = 3,
        /// <summary>The user ID is registered, but for another AP.</summary>
        WrongAp = 4,
        /// <summary>The card could not be read.</summary>
        ReadFailed = 5,
    }

    /// <summary>Where the status that applied came from (<c>cardap_status_source</c>).</summary>
    public enum StatusSource : uint
    {
        /// <summary>No status applied (an unlisted card, an unknown user).</summary>
        None = 0,
        /// <summary>The daily feed.</summary>
        Feed = 1,
        /// <summary>The provider's own status.</summary>
        Provider = 2,
    }

    /// <summary>A card status (<c>cardap_card_status</c>).</summary>
    public enum CardStatus : uint
    {
        /// <summary>In use.</summary>
        Active = 1,
        /// <summary>Suspended (reported lost, ...).</summary>
        Suspended = 2,
        /// <summary>Abolished.</summary>
        Abolished = 3,
    }

    /// <summary>A gate's decision.</summary>
    public sealed class Decision
    {
        /// <summary>Whether the gate opens.</summary>
        public bool Allow { get; internal set; }
        /// <summary><c>None</c> when allowed, else why not.</summary>
        public DenyReason Reason { get; internal set; }
        /// <summary>Where the status that applied came from.</summary>
        public StatusSource Source { get; internal set; }
        /// <summary>The member key registered for this user ID and AP, or null.</summary>
        public string Member { get; internal set; }
        /// <summary><c>{"user_id","decision","reason","source","member"}</c>.</summary>
        public string Json { get; internal set; }
    }

    internal sealed class RegistryHandle : SafeHandle
    {
        public RegistryHandle() : base(IntPtr.Zero, true) { }
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
        protected override unsafe bool ReleaseHandle()
        {
            NativeMethods.cardap_registry_free((cardap_registry*)handle);
            return true;
        }
        internal void Set(IntPtr h) { SetHandle(h); }
    }

    /// <summary>A registry: a SQLite file (created if missing) or a
    /// <c>postgres://</c> URL. Dispose it when done.</summary>
    public sealed unsafe class Registry : IDisposable
    {
        private readonly RegistryHandle handle;
        private readonly object gate = new object();

        private Registry(RegistryHandle handle) { this.handle = handle; }

        /// <summary>Opens a registry file or server.</summary>
        /// <exception cref="RegistryException">The file cannot be opened or the server reached.</exception>
        public static Registry Open(string location)
        {
            UIntPtr len;
            byte[] bytes = Interop.Encode(location, "location", out len);
            cardap_registry* raw = null;
            fixed (byte* p = bytes)
            {
                Interop.Check(NativeMethods.cardap_registry_open(p, len, &raw));
            }
            var h = new RegistryHandle();
            h.Set((IntPtr)raw);
            return new Registry(h);
        }

        private delegate cardap_result Call(cardap_registry* r);

        private T With<T>(Func<IntPtr, T> body)
        {
            lock (gate)
            {
                return Handles.Use(handle, "Registry", ptr => body(ptr));
            }
        }

        /// <summary><c>{"user_id","status","source","updated_at"}</c> for a user ID
        /// (status active, suspended, abolished or unlisted).</summary>
        /// <exception cref="CardapArgumentException">Not a valid user ID.</exception>
        public string Check(string userId)
        {
            UIntPtr n;
            byte[] id = Interop.Encode(userId, "userId", out n);
            return With(ptr =>
            {
                byte* text;
                UIntPtr len;
                fixed (byte* p = id)
                {
                    Interop.Check(NativeMethods.cardap_registry_check((cardap_registry*)ptr, p, n, &text, &len));
                }
                return Interop.Utf8(text, len);
            });
        }

        /// <summary>The gate's decision for a user ID read from the AP named
        /// <paramref name="ap"/> (the profile's name).</summary>
        public Decision Decide(string userId, string ap)
        {
            UIntPtr n, an;
            byte[] id = Interop.Encode(userId, "userId", out n);
            byte[] name = Interop.Encode(ap, "ap", out an);
            return With(ptr =>
            {
                cardap_decision d;
                byte* text;
                UIntPtr len;
                fixed (byte* p = id)
                fixed (byte* a = name)
                {
                    Interop.Check(NativeMethods.cardap_registry_decide(
                        (cardap_registry*)ptr, p, n, a, an, &d, &text, &len));
                }
                string json = Interop.Utf8(text, len);
                return new Decision
                {
                    Allow = d.allow,
                    Reason = (DenyReason)(uint)d.reason,
                    Source = (StatusSource)(uint)d.source,
                    Member = JsonString(json, "member"),
                    Json = json,
                };
            });
        }

        /// <summary>Imports a feed file (CSV user_id,status,updated_at) in one
        /// transaction: <paramref name="full"/> replaces every feed status, otherwise
        /// its rows are inserted or updated. Returns <c>{"mode","rows","changed","removed"}</c>.</summary>
        /// <exception cref="FeedException">A malformed row (nothing imported) or no such file.</exception>
        public string ImportFeed(string path, bool full)
        {
            UIntPtr n;
            byte[] file = Interop.Encode(path, "path", out n);
            uint mode = full ? 0u : 1u;
            return With(ptr =>
            {
                byte* text;
                UIntPtr len;
                fixed (byte* p = file)
                {
                    Interop.Check(NativeMethods.cardap_registry_import((cardap_registry*)ptr, p, n, mode, &text, &len));
                }
                return Interop.Utf8(text, len);
            });
        }

        /// <summary>Sets the provider's status, in effect at once and winning over
        /// the feed until <see cref="ClearStatus"/>.</summary>
        public void SetStatus(string userId, CardStatus status)
        {
            UIntPtr n;
            byte[] id = Interop.Encode(userId, "userId", out n);
            With(ptr =>
            {
                fixed (byte* p = id)
                {
                    Interop.Check(NativeMethods.cardap_registry_set_status((cardap_registry*)ptr, p, n, (uint)status));
                }
                return 0;
            });
        }

        /// <summary>Clears the provider's status: the feed's applies again.</summary>
        public void ClearStatus(string userId)
        {
            UIntPtr n;
            byte[] id = Interop.Encode(userId, "userId", out n);
            With(ptr =>
            {
                fixed (byte* p = id)
                {
                    Interop.Check(NativeMethods.cardap_registry_clear_status((cardap_registry*)ptr, p, n));
                }
                return 0;
            });
        }

        /// <summary>Registers a member without a card.</summary>
        /// <exception cref="MemberExistsException">Already registered for this AP.</exception>
        public void AddMember(string userId, string ap, string member, string label = null)
        {
            UIntPtr n, an, mn, ln = UIntPtr.Zero;
            byte[] id = Interop.Encode(userId, "userId", out n);
            byte[] name = Interop.Encode(ap, "ap", out an);
            byte[] key = Interop.Encode(member, "member", out mn);
            byte[] lab = label == null ? null : Interop.Encode(label, "label", out ln);
            With(ptr =>
            {
                fixed (byte* p = id)
                fixed (byte* a = name)
                fixed (byte* m = key)
                fixed (byte* l = lab)
                {
                    Interop.Check(NativeMethods.cardap_registry_add_member(
                        (cardap_registry*)ptr, p, n, a, an, m, mn, lab == null ? null : l, ln));
                }
                return 0;
            });
        }

        /// <summary>The registration desk: reads the AP <paramref name="profile"/>
        /// describes from <paramref name="card"/> and registers its user ID for
        /// <paramref name="member"/>. Returns <c>{"user_id","ap","member","label"}</c>.</summary>
        /// <exception cref="MemberExistsException">This card is already registered for this AP.</exception>
        /// <exception cref="CardapException">The card could not be read (a subclass says why).</exception>
        public string Register(Context card, Profile profile, string member, string label = null)
        {
            if (card == null) throw new ArgumentNullException("card");
            if (profile == null) throw new ArgumentNullException("profile");
            UIntPtr mn, ln = UIntPtr.Zero;
            byte[] key = Interop.Encode(member, "member", out mn);
            byte[] lab = label == null ? null : Interop.Encode(label, "label", out ln);
            return card.WithPointer(ctx => Handles.Use(profile.Handle, "Profile", prof => With(ptr =>
            {
                byte* text;
                UIntPtr len;
                fixed (byte* m = key)
                fixed (byte* l = lab)
                {
                    Interop.Check(NativeMethods.cardap_registry_register(
                        (cardap_registry*)ptr, (cardap_context*)ctx, (cardap_profile*)prof,
                        m, mn, lab == null ? null : l, ln, &text, &len));
                }
                return Interop.Utf8(text, len);
            })));
        }

        /// <summary>The string value of a top-level key of a flat JSON object from
        /// the library, or null (for null or absent).</summary>
        internal static string JsonString(string json, string key)
        {
            string needle = "\"" + key + "\":";
            int i = json.IndexOf(needle, StringComparison.Ordinal);
            if (i < 0) return null;
            i += needle.Length;
            if (i >= json.Length || json[i] != '"') return null;
            var sb = new StringBuilder();
            for (i++; i < json.Length && json[i] != '"'; i++)
            {
                char c = json[i];
                if (c == '\\' && i + 1 < json.Length)
                {
                    char e = json[++i];
                    switch (e)
                    {
                        case 'n': sb.Append('\n'); break;
                        case 't': sb.Append('\t'); break;
                        case 'r': sb.Append('\r'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'u':
                            if (i + 4 < json.Length)
                            {
                                sb.Append((char)Convert.ToInt32(json.Substring(i + 1, 4), 16));
                                i += 4;
                            }
                            break;
                        default: sb.Append(e); break;
                    }
                }
                else
                {
                    sb.Append(c);
                }
            }
            return sb.ToString();
        }

        /// <summary>Closes the registry.</summary>
        public void Dispose()
        {
            handle.Dispose();
        }
    }
}
