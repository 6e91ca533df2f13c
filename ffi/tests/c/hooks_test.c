/*
 * The embedding hooks and the handle guarantees from C, run under valgrind
 * memcheck by scripts/test-ffi.sh:
 *
 *   hooks_test EXAMPLES_DIR
 *     - a key provider that holds the AP keys itself (OpenSSL's libcrypto
 *       stands in for a SAM/HSM) reads Types A and D from profiles without
 *       keys;
 *     - a log callback receives the read events, and none carries key bytes;
 *     - two threads x 300 reads on one context: every result OK or BUSY;
 *     - a stale record handle after free + a new record is INVALID_HANDLE,
 *       never the new record's data; a double free does nothing.
 *
 *   hooks_test --wait READER
 *     Through pcscd; READER holds no card when it starts:
 *     - a wait with a 500 ms timeout returns TIMEOUT after 500 ms;
 *     - a wait with no timeout returns CANCELLED when another thread
 *       triggers the token;
 *     - then prints "waiting" and waits (up to 60 s) for the card the test
 *       script inserts by starting `cardap sim`; prints the reader and ATR.
 *
 * Ends with the line "N passed, M failed"; exits 1 if any check failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "cardap.h"
#include "check.h"

static const char *examples;

static char *slurp(const char *rel, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", examples, rel);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    abort();
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)size + 1);
  if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
    abort();
  }
  fclose(f);
  buf[size] = '\0';
  *len = (size_t)size;
  return buf;
}

/* The profile text without its k_enc / k_mac lines. */
static char *keyless(const char *text, size_t *len) {
  size_t n = strlen(text);
  char *out = malloc(n + 1);
  if (out == NULL) {
    abort();
  }
  size_t o = 0;
  const char *line = text;
  while (*line != '\0') {
    const char *end = strchr(line, '\n');
    size_t l = end != NULL ? (size_t)(end - line) + 1 : strlen(line);
    if (strncmp(line, "k_enc", 5) != 0 && strncmp(line, "k_mac", 5) != 0) {
      memcpy(out + o, line, l);
      o += l;
    }
    line += l;
  }
  out[o] = '\0';
  *len = o;
  return out;
}

static cardap_profile *profile_of(const char *text, size_t len) {
  cardap_profile *p = NULL;
  CHECK_CODE(cardap_profile_new_from_str(text, len, &p), CARDAP_RESULT_OK);
  return p;
}

static cardap_context *demo_context(void) {
  size_t len = 0;
  char *card = slurp("cards/demo.toml", &len);
  cardap_context *c = NULL;
  CHECK_CODE(cardap_context_new_virtual_card_str(card, len, &c), CARDAP_RESULT_OK);
  free(card);
  return c;
}

/* ---- A key provider that holds the keys itself ------------------------ */

struct hsm {
  int aes256;
  uint8_t k_enc[32];
  uint8_t k_mac[32];
  int calls;
};

static int unhex(const char *hex, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
      return 0;
    }
    out[i] = (uint8_t)v;
  }
  return 1;
}

static cardap_result hsm_cbc(struct hsm *h, int encrypt, const uint8_t *in, size_t in_len,
                             uint8_t *out, size_t cap, size_t *out_len) {
  static const uint8_t iv[16] = {0};
  if (cap < in_len || in_len % 16 != 0) {
    return CARDAP_RESULT_INVALID_ARGUMENT;
  }
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  const EVP_CIPHER *cipher = h->aes256 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
  int len = 0, ok = ctx != NULL && EVP_CipherInit_ex(ctx, cipher, NULL, h->k_enc, iv, encrypt) &&
                    EVP_CIPHER_CTX_set_padding(ctx, 0) &&
                    EVP_CipherUpdate(ctx, out, &len, in, (int)in_len);
  EVP_CIPHER_CTX_free(ctx);
  h->calls++;
  if (!ok || (size_t)len != in_len) {
    return CARDAP_RESULT_CRYPTO;
  }
  *out_len = in_len;
  return CARDAP_RESULT_OK;
}

static cardap_result hsm_encrypt(void *u, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                                 size_t *out_len) {
  return hsm_cbc(u, 1, in, n, out, cap, out_len);
}

static cardap_result hsm_decrypt(void *u, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                                 size_t *out_len) {
  return hsm_cbc(u, 0, in, n, out, cap, out_len);
}

/* AES-CMAC cut to 8 bytes over the data padded with ISO/IEC 9797-1 method 2. */
static cardap_result hsm_mac(void *u, const uint8_t *in, size_t n, uint8_t *mac_out) {
  struct hsm *h = u;
  size_t padded_len = (n / 16 + 1) * 16;
  uint8_t *padded = calloc(padded_len, 1);
  if (padded == NULL) {
    return CARDAP_RESULT_CRYPTO;
  }
  memcpy(padded, in, n);
  padded[n] = 0x80;
  uint8_t full[16];
  size_t full_len = 0;
  uint8_t *done = EVP_Q_mac(NULL, "CMAC", NULL, h->aes256 ? "AES-256-CBC" : "AES-128-CBC", NULL,
                            h->k_mac, h->aes256 ? 32 : 16, padded, padded_len, full, sizeof full,
                            &full_len);
  free(padded);
  h->calls++;
  if (done == NULL || full_len != 16) {
    return CARDAP_RESULT_CRYPTO;
  }
  memcpy(mac_out, full, 8);
  return CARDAP_RESULT_OK;
}

/* ---- Log events --------------------------------------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_events, log_read_events, log_key_leaks;

static void on_log(void *userdata, uint32_t level, const char *target, size_t target_len,
                   const char *message, size_t message_len) {
  (void)target;
  (void)target_len;
  const char *keys[] = {"000102030405060708090A0B0C0D0E0F", "101112131415161718191A1B1C1D1E1F",
                        "404142434445464748494A4B", "606162636465666768696A6B"};
  pthread_mutex_lock(&log_lock);
  log_events++;
  if (userdata != &log_events || level < 1 || level > 4) {
    log_key_leaks += 1000; /* counted as a failure below */
  }
  if (message_len >= 6 && memcmp(message, "read: ", 6) == 0) {
    log_read_events++;
  }
  for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
    size_t kl = strlen(keys[k]);
    for (size_t i = 0; i + kl <= message_len; i++) {
      if (strncasecmp(message + i, keys[k], kl) == 0) {
        log_key_leaks++;
      }
    }
  }
  pthread_mutex_unlock(&log_lock);
}

static void key_provider_and_log(void) {
  CHECK_CODE(cardap_set_log_callback(on_log, &log_events, 4), CARDAP_RESULT_OK);
  cardap_context *ctx = demo_context();
  struct {
    const char *file;
    int aes256;
    const char *k_enc;
    const char *k_mac;
    cardap_suite suite;
  } cases[] = {
      {"profiles/kiosk.toml", 0, "000102030405060708090A0B0C0D0E0F",
       "101112131415161718191A1B1C1D1E1F", CARDAP_SUITE_AES128},
      {"profiles/evacuee.toml", 1,
       "404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F",
       "606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F", CARDAP_SUITE_AES256},
  };
  for (size_t i = 0; i < 2; i++) {
    size_t len = 0, bare_len = 0;
    char *text = slurp(cases[i].file, &len);
    char *bare = keyless(text, &bare_len);
    cardap_profile *with_keys = profile_of(text, len);
    cardap_profile *without = profile_of(bare, bare_len);

    /* What the profile's own keys give. */
    cardap_record *want = NULL;
    CHECK_CODE(cardap_context_read(ctx, with_keys, &want), CARDAP_RESULT_OK);
    const char *want_json = NULL;
    size_t want_len = 0;
    CHECK_CODE(cardap_record_to_json(want, &want_json, &want_len), CARDAP_RESULT_OK);

    /* No keys at all: refused. */
    cardap_record *rec = NULL;
    CHECK_CODE(cardap_context_read(ctx, without, &rec), CARDAP_RESULT_NO_KEYS);

    struct hsm h = {.aes256 = cases[i].aes256};
    size_t key_len = cases[i].aes256 ? 32 : 16;
    CHECK(unhex(cases[i].k_enc, h.k_enc, key_len) && unhex(cases[i].k_mac, h.k_mac, key_len));
    cardap_key_provider *keys = NULL;
    CHECK_CODE(cardap_key_provider_new(cases[i].suite, hsm_encrypt, hsm_decrypt, hsm_mac, &h,
                                       &keys),
               CARDAP_RESULT_OK);
    CHECK_CODE(cardap_context_read_with_keys(ctx, without, keys, &rec), CARDAP_RESULT_OK);
    const char *json = NULL;
    size_t json_len = 0;
    CHECK_CODE(cardap_record_to_json(rec, &json, &json_len), CARDAP_RESULT_OK);
    CHECK(json_len == want_len && memcmp(json, want_json, json_len) == 0);
    CHECK(h.calls == 4); /* encrypt, mac, mac, decrypt */

    /* Wrong keys in the provider: authentication fails. */
    struct hsm wrong = h;
    wrong.k_enc[0] ^= 1;
    cardap_key_provider *bad = NULL;
    CHECK_CODE(cardap_key_provider_new(cases[i].suite, hsm_encrypt, hsm_decrypt, hsm_mac, &wrong,
                                       &bad),
               CARDAP_RESULT_OK);
    cardap_record *none = NULL;
    CHECK_CODE(cardap_context_read_with_keys(ctx, without, bad, &none),
               CARDAP_RESULT_AUTH_FAILED);
    CHECK(none == NULL);
    CHECK_CODE(cardap_key_provider_new(9, hsm_encrypt, hsm_decrypt, hsm_mac, &h, &bad),
               CARDAP_RESULT_INVALID_ARGUMENT);

    cardap_key_provider_free(bad);
    cardap_key_provider_free(keys);
    cardap_record_free(rec);
    cardap_record_free(want);
    cardap_profile_free(with_keys);
    cardap_profile_free(without);
    free(text);
    free(bare);
  }
  cardap_context_free(ctx);
  CHECK_CODE(cardap_set_log_callback(NULL, NULL, 0), CARDAP_RESULT_OK);
  pthread_mutex_lock(&log_lock);
  int events = log_events;
  CHECK(log_read_events >= 4);
  CHECK(log_key_leaks == 0);
  pthread_mutex_unlock(&log_lock);
  /* Off: nothing more arrives. */
  cardap_context *quiet = demo_context();
  size_t len = 0;
  char *text = slurp("profiles/library.toml", &len);
  cardap_profile *p = profile_of(text, len);
  cardap_record *rec = NULL;
  CHECK_CODE(cardap_context_read(quiet, p, &rec), CARDAP_RESULT_OK);
  CHECK(log_events == events);
  cardap_record_free(rec);
  cardap_profile_free(p);
  cardap_context_free(quiet);
  free(text);
}

/* ---- One context, two threads ------------------------------------------ */

struct shared {
  cardap_context *ctx;
  cardap_profile *profile;
  int ok, busy, other;
};

static void *reader_thread(void *arg) {
  struct shared *s = arg;
  int ok = 0, busy = 0, other = 0;
  for (int i = 0; i < 300; i++) {
    cardap_record *rec = NULL;
    cardap_result r = cardap_context_read(s->ctx, s->profile, &rec);
    if (r == CARDAP_RESULT_OK) {
      ok++;
    } else if (r == CARDAP_RESULT_BUSY) {
      busy++;
    } else {
      other++;
    }
    cardap_record_free(rec);
  }
  pthread_mutex_lock(&log_lock);
  printf("  thread: %d OK, %d BUSY, %d other\n", ok, busy, other);
  s->ok += ok;
  s->busy += busy;
  s->other += other;
  pthread_mutex_unlock(&log_lock);
  return NULL;
}

static void two_threads_one_context(void) {
  size_t len = 0;
  char *text = slurp("profiles/library.toml", &len);
  struct shared s = {.ctx = demo_context(), .profile = profile_of(text, len)};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) {
    CHECK(pthread_create(&t[i], NULL, reader_thread, &s) == 0);
  }
  for (int i = 0; i < 2; i++) {
    pthread_join(t[i], NULL);
  }
  printf("two threads x 300 reads on one context: %d OK, %d BUSY, %d other\n", s.ok, s.busy,
         s.other);
  CHECK(s.ok + s.busy == 600);
  CHECK(s.ok > 0);
  CHECK(s.other == 0);
  cardap_profile_free(s.profile);
  cardap_context_free(s.ctx);
  free(text);
}

/* ---- Stale handles ------------------------------------------------------ */

static void stale_handles(void) {
  cardap_context *ctx = demo_context();
  size_t l1 = 0, l2 = 0;
  char *t1 = slurp("profiles/library.toml", &l1);
  char *t2 = slurp("profiles/kiosk.toml", &l2);
  cardap_profile *library = profile_of(t1, l1), *kiosk = profile_of(t2, l2);
  cardap_record *first = NULL, *second = NULL;
  CHECK_CODE(cardap_context_read(ctx, library, &first), CARDAP_RESULT_OK);
  cardap_record_free(first);
  CHECK_CODE(cardap_context_read(ctx, kiosk, &second), CARDAP_RESULT_OK);
  const char *name = NULL;
  size_t name_len = 0;
  /* The stale handle is refused, whatever the allocator did meanwhile. */
  CHECK(first != second);
  CHECK_CODE(cardap_record_name(first, &name, &name_len), CARDAP_RESULT_INVALID_HANDLE);
  CHECK(name == NULL);
  cardap_record_free(first); /* a double free: nothing happens */
  CHECK_CODE(cardap_record_name(second, &name, &name_len), CARDAP_RESULT_OK);
  CHECK(name_len == strlen("staff-kiosk") && memcmp(name, "staff-kiosk", name_len) == 0);
  cardap_record_free(second);
  cardap_profile_free(library);
  cardap_profile_free(kiosk);
  cardap_context_free(ctx);
  /* A freed context is refused too. */
  cardap_record *none = NULL;
  CHECK_CODE(cardap_context_read(ctx, kiosk, &none), CARDAP_RESULT_INVALID_HANDLE);
  free(t1);
  free(t2);
}

/* ---- Waiting for a card through pcscd ----------------------------------- */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *trigger_later(void *arg) {
  struct timespec pause = {0, 300 * 1000 * 1000};
  nanosleep(&pause, NULL);
  cardap_result r = cardap_cancel_trigger(arg);
  return r == CARDAP_RESULT_OK ? arg : NULL;
}

static void waits(const char *reader) {
  cardap_card_event *event = NULL;
  double start = now();
  CHECK_CODE(cardap_wait_for_card(reader, 500, NULL, &event), CARDAP_RESULT_TIMEOUT);
  double timed_out = now() - start;
  CHECK(timed_out >= 0.5 && timed_out < 5.0);
  CHECK(event == NULL);

  cardap_cancel *cancel = NULL;
  CHECK_CODE(cardap_cancel_new(&cancel), CARDAP_RESULT_OK);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, trigger_later, cancel) == 0);
  start = now();
  CHECK_CODE(cardap_wait_for_card(reader, 0, cancel, &event), CARDAP_RESULT_CANCELLED);
  double waited = now() - start;
  void *triggered = NULL;
  pthread_join(t, &triggered);
  CHECK(triggered == cancel);
  CHECK(waited >= 0.25 && waited < 5.0);
  cardap_cancel_free(cancel);
  printf("timeout after %.2f s; cancelled from another thread after %.2f s\n", timed_out, waited);

  /* The card the test script inserts. */
  printf("waiting\n");
  fflush(stdout);
  CHECK_CODE(cardap_wait_for_card(reader, 60000, NULL, &event), CARDAP_RESULT_OK);
  const char *name = NULL;
  size_t name_len = 0;
  const uint8_t *atr = NULL;
  size_t atr_len = 0;
  CHECK_CODE(cardap_card_event_reader(event, &name, &name_len), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_card_event_atr(event, &atr, &atr_len), CARDAP_RESULT_OK);
  CHECK(name != NULL && name_len == strlen(reader) && memcmp(name, reader, name_len) == 0);
  CHECK(atr_len >= 2 && atr[0] == 0x3B);
  printf("card present in %.*s, ATR of %zu bytes\n", (int)name_len, name, atr_len);
  cardap_card_event_free(event);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--wait") == 0) {
    waits(argv[2]);
  } else if (argc == 2) {
    examples = argv[1];
    key_provider_and_log();
    two_threads_one_context();
    stale_handles();
  } else {
    fprintf(stderr, "usage: hooks_test EXAMPLES_DIR | hooks_test --wait READER\n");
    return 2;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
