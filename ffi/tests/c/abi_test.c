/*
 * The C ABI from C, run under valgrind memcheck by scripts/test-ffi.sh: every
 * exported function with valid, NULL, garbage, misaligned, foreign and
 * oversized arguments; reads of Type A, C and D from an in-process virtual
 * card (and through PC/SC when CARDAP_TEST_READER names a reader holding the
 * demo card); every handle freed.
 *
 *   abi_test EXAMPLES_DIR      (the repository's examples/ directory)
 *
 * Ends with the line "N passed, M failed"; exits 1 if any check failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardap.h"
#include "check.h"

static const char *examples;

static char *path_of(const char *rel) {
  size_t n = strlen(examples) + strlen(rel) + 2;
  char *p = malloc(n);
  if (p == NULL) {
    abort();
  }
  snprintf(p, n, "%s/%s", examples, rel);
  return p;
}

static char *slurp(const char *rel, size_t *len) {
  char *path = path_of(rel);
  FILE *f = fopen(path, "rb");
  free(path);
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

static int same(const char *p, size_t n, const char *want) {
  return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0 && p[n] == '\0';
}

static const char *LIBRARY_JSON =
    "{\"name\":\"city-library\",\"type\":\"C\",\"aid\":\"F0434152444150430001\","
    "\"user_id\":\"1001000000019\",\"info\":{\"info1\":\"4C4942\",\"info2\":"
    "\"00123456\",\"info3\":\"07\"},\"fields\":{\"branch\":\"LIB\",\"member_no\":"
    "\"00123456\"},\"apdus\":2}";
/* A format: the Type A read takes 4 APDUs with extended length, 7 without. */
static const char *KIOSK_JSON =
    "{\"name\":\"staff-kiosk\",\"type\":\"A\",\"aid\":\"F0434152444150410007\","
    "\"user_id\":\"2007000000029\",\"info\":{\"info1\":\"53544146462D3031\","
    "\"info2\":\"20250401\"},\"fields\":{\"staff_no\":\"STAFF-01\",\"valid_from\":"
    "\"20250401\"},\"apdus\":%d}";

static cardap_profile *load_profile(const char *rel) {
  char *path = path_of(rel);
  cardap_profile *p = NULL;
  CHECK_CODE(cardap_profile_new_from_file(path, strlen(path), &p), CARDAP_RESULT_OK);
  free(path);
  return p;
}

/* Reads the three demo APs through a context; checks every accessor. */
static void read_demo(cardap_context *ctx, int kiosk_apdus) {
  char kiosk_json[512];
  snprintf(kiosk_json, sizeof kiosk_json, KIOSK_JSON, kiosk_apdus);
  cardap_profile *library = load_profile("profiles/library.toml");
  cardap_profile *kiosk = load_profile("profiles/kiosk.toml");
  cardap_profile *evacuee = load_profile("profiles/evacuee.toml");
  cardap_record *rec = NULL;
  const char *s = NULL, *v = NULL;
  const uint8_t *b = NULL;
  size_t n = 0, vn = 0, count = 0;
  cardap_ap_type type = CARDAP_AP_TYPE_CUSTOM;

  /* Type C */
  CHECK_CODE(cardap_context_read(ctx, library, &rec), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_record_to_json(rec, &s, &n), CARDAP_RESULT_OK);
  CHECK(same(s, n, LIBRARY_JSON));
  CHECK_CODE(cardap_record_type(rec, &type), CARDAP_RESULT_OK);
  CHECK(type == CARDAP_AP_TYPE_C);
  CHECK_CODE(cardap_record_info_count(rec, &count), CARDAP_RESULT_OK);
  CHECK(count == 3);
  CHECK_CODE(cardap_record_info_at(rec, 0, &s, &n, &b, &vn), CARDAP_RESULT_OK);
  CHECK(same(s, n, "info1") && vn == 3 && memcmp(b, "LIB", 3) == 0);
  CHECK_CODE(cardap_record_info_at(rec, 3, &s, &n, &b, &vn), CARDAP_RESULT_OUT_OF_RANGE);
  CHECK_CODE(cardap_record_data(rec, &b, &n), CARDAP_RESULT_NOT_FOUND);
  cardap_record_free(rec);
  rec = NULL;

  /* Type A */
  CHECK_CODE(cardap_context_read(ctx, kiosk, &rec), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_record_to_json(rec, &s, &n), CARDAP_RESULT_OK);
  CHECK(same(s, n, kiosk_json));
  CHECK_CODE(cardap_record_name(rec, &s, &n), CARDAP_RESULT_OK);
  CHECK(same(s, n, "staff-kiosk"));
  CHECK_CODE(cardap_record_user_id(rec, &s, &n), CARDAP_RESULT_OK);
  CHECK(same(s, n, "2007000000029"));
  CHECK_CODE(cardap_record_aid(rec, &b, &n), CARDAP_RESULT_OK);
  CHECK(n == 10 && b[0] == 0xF0 && b[9] == 0x07);
  CHECK_CODE(cardap_record_info_get(rec, "info2", 5, &b, &n), CARDAP_RESULT_OK);
  CHECK(n == 4 && b[0] == 0x20 && b[3] == 0x01);
  CHECK_CODE(cardap_record_field_count(rec, &count), CARDAP_RESULT_OK);
  CHECK(count == 2);
  CHECK_CODE(cardap_record_field_at(rec, 1, &s, &n, &v, &vn), CARDAP_RESULT_OK);
  CHECK(same(s, n, "valid_from") && same(v, vn, "20250401"));
  CHECK_CODE(cardap_record_field_get(rec, "staff_no", 8, &v, &vn), CARDAP_RESULT_OK);
  CHECK(same(v, vn, "STAFF-01"));
  CHECK_CODE(cardap_record_field_get(rec, "nope", 4, &v, &vn), CARDAP_RESULT_NOT_FOUND);
  CHECK_CODE(cardap_record_apdus(rec, &count), CARDAP_RESULT_OK);
  CHECK(count == (size_t)kiosk_apdus);
  CHECK_CODE(cardap_record_step_count(rec, &count), CARDAP_RESULT_OK);
  CHECK(count == 0);
  cardap_record_free(rec);
  rec = NULL;

  /* Type D */
  CHECK_CODE(cardap_context_read(ctx, evacuee, &rec), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_record_data(rec, &b, &n), CARDAP_RESULT_OK);
  CHECK(n == 242 && b[0] == 0xE5);
  CHECK_CODE(cardap_record_field_get(rec, "name", 4, &v, &vn), CARDAP_RESULT_OK);
  CHECK(same(v, vn, "\xE5\xB1\xB1\xE7\x94\xB0 \xE8\x8A\xB1\xE5\xAD\x90"));
  CHECK_CODE(cardap_record_field_get(rec, "birth_date", 10, &v, &vn), CARDAP_RESULT_OK);
  CHECK(same(v, vn, "19850412"));
  cardap_record_free(rec);
  rec = NULL;

  /* EF.DIR */
  cardap_ap_list *list = NULL;
  CHECK_CODE(cardap_context_list(ctx, &list), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_ap_list_count(list, &count), CARDAP_RESULT_OK);
  CHECK(count == 3);
  CHECK_CODE(cardap_ap_list_label(list, 2, &s, &n), CARDAP_RESULT_OK);
  CHECK(same(s, n, "evacuee record"));
  CHECK_CODE(cardap_ap_list_aid(list, 0, &b, &n), CARDAP_RESULT_OK);
  CHECK(n == 10 && b[9] == 0x01);
  CHECK_CODE(cardap_ap_list_aid(list, 3, &b, &n), CARDAP_RESULT_OUT_OF_RANGE);
  CHECK_CODE(cardap_ap_list_to_json(list, &s, &n), CARDAP_RESULT_OK);
  CHECK(n > 2 && s[0] == '[' && s[n - 1] == ']');
  cardap_ap_list_free(list);

  cardap_profile_free(library);
  cardap_profile_free(kiosk);
  cardap_profile_free(evacuee);
}

/* Aligned garbage: readable, but nothing the library made. */
static uint64_t garbage[8] = {0xABABABABABABABABull, 0xABABABABABABABABull};

static void bad_arguments(cardap_context *ctx) {
  cardap_profile *profile = load_profile("profiles/library.toml");
  cardap_record *rec = NULL;
  CHECK_CODE(cardap_context_read(ctx, profile, &rec), CARDAP_RESULT_OK);
  const char *s = NULL;
  const uint8_t *b = NULL;
  size_t n = 0;
  uint16_t sw = 0;
  bool present = false;
  cardap_ap_type type = CARDAP_AP_TYPE_A;
  void *junk = garbage;
  void *odd = (char *)garbage + 1;

  /* NULL handles and out-parameters. */
  CHECK_CODE(cardap_context_read(NULL, profile, &rec), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_read(ctx, NULL, &rec), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_read(ctx, profile, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_list(NULL, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_set_short_apdus(NULL, true), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_last_error(ctx, NULL, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_last_status_word(ctx, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_profile_new_from_str(NULL, 10, (cardap_profile **)&junk), CARDAP_RESULT_NULL_PARAMETER);
  CHECK(junk == garbage); /* not written on failure */
  CHECK_CODE(cardap_profile_new_from_file(NULL, 0, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_new_virtual_card_str("x", 1, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_new_virtual_card_file(NULL, 3, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_context_new_pcsc(NULL, 4, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_profile_name(NULL, &s, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_profile_type(profile, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_profile_aid(profile, &b, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_record_name(rec, NULL, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_record_user_id(rec, &s, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_record_info_at(rec, 0, &s, &n, NULL, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_record_info_get(rec, NULL, 5, &b, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_record_field_get(rec, "branch", 6, NULL, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_record_to_json(rec, NULL, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_ap_list_count(NULL, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_reader_list_new(NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_reader_list_count(NULL, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_result_text(0, NULL, &n), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_last_error(&s, NULL), CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_version(NULL, NULL), CARDAP_RESULT_NULL_PARAMETER);

  /* Garbage, misaligned and foreign handles. */
  CHECK_CODE(cardap_context_read((cardap_context *)junk, profile, &rec), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_context_read((cardap_context *)odd, profile, &rec), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_context_read((cardap_context *)profile, profile, &rec), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_context_read(ctx, (cardap_profile *)ctx, &rec), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_context_last_status_word((cardap_context *)junk, &sw), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_profile_type((cardap_profile *)rec, &type), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_record_name((cardap_record *)profile, &s, &n), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_record_data((cardap_record *)odd, &b, &n), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_ap_list_label((cardap_ap_list *)junk, 0, &s, &n), CARDAP_RESULT_INVALID_HANDLE);
  CHECK_CODE(cardap_reader_list_card_present((cardap_reader_list *)junk, 0, &present), CARDAP_RESULT_INVALID_HANDLE);
  /* Frees of NULL, garbage and foreign handles do nothing. */
  cardap_context_free(NULL);
  cardap_context_free((cardap_context *)junk);
  cardap_context_free((cardap_context *)profile);
  cardap_profile_free(NULL);
  cardap_profile_free((cardap_profile *)odd);
  cardap_record_free(NULL);
  cardap_record_free((cardap_record *)ctx);
  cardap_ap_list_free(NULL);
  cardap_reader_list_free(NULL);
  CHECK(garbage[0] == 0xABABABABABABABABull);

  /* Oversized lengths: refused before the memory is read. */
  cardap_profile *p2 = NULL;
  cardap_context *c2 = NULL;
  CHECK_CODE(cardap_profile_new_from_str("x", SIZE_MAX, &p2), CARDAP_RESULT_TOO_LONG);
  CHECK_CODE(cardap_profile_new_from_str("x", CARDAP_MAX_TEXT_LEN + 1, &p2), CARDAP_RESULT_TOO_LONG);
  CHECK_CODE(cardap_profile_new_from_file("x", CARDAP_MAX_PATH_LEN + 1, &p2), CARDAP_RESULT_TOO_LONG);
  CHECK_CODE(cardap_context_new_virtual_card_str("x", SIZE_MAX, &c2), CARDAP_RESULT_TOO_LONG);
  CHECK_CODE(cardap_context_new_virtual_card_file("x", SIZE_MAX / 2, &c2), CARDAP_RESULT_TOO_LONG);
  CHECK_CODE(cardap_context_new_pcsc("x", CARDAP_MAX_NAME_LEN + 1, &c2), CARDAP_RESULT_TOO_LONG);
  CHECK_CODE(cardap_record_field_get(rec, "x", SIZE_MAX, &s, &n), CARDAP_RESULT_TOO_LONG);
  CHECK_CODE(cardap_record_info_get(rec, "x", SIZE_MAX, &b, &n), CARDAP_RESULT_TOO_LONG);
  CHECK_CODE(cardap_record_info_at(rec, SIZE_MAX, &s, &n, &b, &n), CARDAP_RESULT_OUT_OF_RANGE);
  CHECK_CODE(cardap_ap_list_aid(NULL, SIZE_MAX, &b, &n), CARDAP_RESULT_NULL_PARAMETER);
  /* Not UTF-8; a NUL in a path; garbage text. */
  CHECK_CODE(cardap_profile_new_from_str("caf\xE9", 4, &p2), CARDAP_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(cardap_profile_new_from_file("a\0b", 3, &p2), CARDAP_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(cardap_context_new_virtual_card_str("\xFF\xFE", 2, &c2), CARDAP_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(cardap_profile_new_from_str("]]]=[[[", 7, &p2), CARDAP_RESULT_PROFILE_INVALID);
  CHECK_CODE(cardap_context_new_virtual_card_str("[[ap]]\ntype = 7\n", 16, &c2), CARDAP_RESULT_CARD_DESCRIPTION_INVALID);
  CHECK(p2 == NULL && c2 == NULL);

  /* Unknown codes have a text too. */
  CHECK_CODE(cardap_result_text(0xFFFFFFFFu, &s, &n), CARDAP_RESULT_OK);
  CHECK(same(s, n, "unknown error"));

  cardap_record_free(rec);
  cardap_profile_free(profile);
}

static void card_errors(cardap_context *ctx) {
  size_t len = 0;
  char *text = slurp("profiles/kiosk.toml", &len);
  /* Another K_mac: authentication fails; the message holds no key. */
  char *k = strstr(text, "101112131415161718191A1B1C1D1E1F");
  CHECK(k != NULL);
  if (k != NULL) {
    memset(k, '0', 32);
  }
  cardap_profile *wrong = NULL;
  CHECK_CODE(cardap_profile_new_from_str(text, len, &wrong), CARDAP_RESULT_OK);
  cardap_record *rec = NULL;
  CHECK_CODE(cardap_context_read(ctx, wrong, &rec), CARDAP_RESULT_AUTH_FAILED);
  CHECK(rec == NULL);
  const char *msg = NULL;
  size_t n = 0;
  CHECK_CODE(cardap_context_last_error(ctx, &msg, &n), CARDAP_RESULT_OK);
  CHECK(n > 0 && strstr(msg, "0000000000") == NULL && strstr(msg, "0A0B0C") == NULL);
  cardap_profile_free(wrong);
  free(text);

  const char *absent =
      "name = \"absent\"\ntype = \"C\"\naid = \"F0 43 41 52 44 41 50 43 00 99\"\n";
  cardap_profile *p = NULL;
  CHECK_CODE(cardap_profile_new_from_str(absent, strlen(absent), &p), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_context_read(ctx, p, &rec), CARDAP_RESULT_AP_NOT_FOUND);
  CHECK_CODE(cardap_context_last_error(ctx, &msg, &n), CARDAP_RESULT_OK);
  CHECK(n > 0 && strstr(msg, "F0434152444150430099") != NULL);
  cardap_profile_free(p);
}

/* Writes (PROFILE.md §11) and the loading desk (§12) on a fresh virtual card. */
static void write_and_desk(void) {
  size_t len = 0;
  char *card = slurp("cards/demo.toml", &len);
  cardap_context *ctx = NULL;
  CHECK_CODE(cardap_context_new_virtual_card_str(card, len, &ctx), CARDAP_RESULT_OK);
  free(card);
  cardap_profile *library = load_profile("profiles/library.toml");
  cardap_profile *evacuee = load_profile("profiles/evacuee.toml");
  const char *writes = "info2=00999999\nbranch=GATE";
  size_t apdus = 0;
  CHECK_CODE(cardap_context_write(ctx, library, writes, strlen(writes), &apdus),
             CARDAP_RESULT_OK);
  CHECK(apdus == 5);
  cardap_record *rec = NULL;
  CHECK_CODE(cardap_context_read(ctx, library, &rec), CARDAP_RESULT_OK);
  const char *v = NULL;
  size_t vn = 0;
  CHECK_CODE(cardap_record_field_get(rec, "member_no", 9, &v, &vn), CARDAP_RESULT_OK);
  CHECK(same(v, vn, "00999999"));
  CHECK_CODE(cardap_record_field_get(rec, "branch", 6, &v, &vn), CARDAP_RESULT_OK);
  CHECK(same(v, vn, "GATE"));
  cardap_record_free(rec);
  /* The user ID is never written: refused before anything is sent. */
  const char *uid = "data@0=3030";
  CHECK_CODE(cardap_context_write(ctx, evacuee, uid, strlen(uid), NULL),
             CARDAP_RESULT_INVALID_WRITE);
  CHECK_CODE(cardap_context_write(NULL, evacuee, uid, strlen(uid), NULL),
             CARDAP_RESULT_NULL_PARAMETER);

  char *issuer_path = path_of("issuer.toml");
  cardap_issuer *issuer = NULL;
  CHECK_CODE(cardap_issuer_new_from_file(issuer_path, strlen(issuer_path), &issuer),
             CARDAP_RESULT_OK);
  free(issuer_path);
  char listing[2048];
  size_t listing_len = 0;
  CHECK_CODE(cardap_context_list_area(ctx, issuer, CARDAP_AREA_LOCAL, listing,
                                      sizeof listing, &listing_len),
             CARDAP_RESULT_OK);
  CHECK(listing_len > 0 && strstr(listing, "1001000000019") != NULL);
  size_t moved = 0;
  CHECK_CODE(cardap_context_move_out(ctx, issuer, &moved), CARDAP_RESULT_OK);
  CHECK(moved == 1);
  CHECK_CODE(cardap_context_read(ctx, library, &rec), CARDAP_RESULT_AP_NOT_FOUND);
  const uint8_t kiosk[] = {0xF0, 0x43, 0x41, 0x52, 0x44, 0x41, 0x50, 0x41, 0x00, 0x07};
  CHECK_CODE(cardap_context_delete_ap(ctx, issuer, kiosk, sizeof kiosk), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_context_delete_ap(ctx, issuer, kiosk, sizeof kiosk),
             CARDAP_RESULT_AP_NOT_FOUND);
  cardap_issuer_free(issuer);
  cardap_profile_free(library);
  cardap_profile_free(evacuee);
  cardap_context_free(ctx);
}

/* The registry: register the demo card's Type C user ID, decide, let the
 * provider suspend it, check; every string borrowed from the handle. */
static void registry_flow(void) {
  char db[64];
  snprintf(db, sizeof db, "/tmp/cardap-abi-test-%ld.db", (long)rand());
  cardap_registry *reg = NULL;
  CHECK_CODE(cardap_registry_open(db, strlen(db), &reg), CARDAP_RESULT_OK);
  if (reg == NULL) {
    return;
  }
  size_t len = 0;
  char *card = slurp("cards/demo.toml", &len);
  cardap_context *ctx = NULL;
  CHECK_CODE(cardap_context_new_virtual_card_str(card, len, &ctx), CARDAP_RESULT_OK);
  free(card);
  cardap_profile *library = load_profile("profiles/library.toml");
  const char *s = NULL;
  size_t n = 0;
  CHECK_CODE(cardap_registry_register(reg, ctx, library, "M-0001", 6, NULL, 0, &s, &n),
             CARDAP_RESULT_OK);
  CHECK(same(s, n, "{\"user_id\":\"1001000000019\",\"ap\":\"city-library\",\"member\":\"M-0001\",\"label\":null}"));
  CHECK_CODE(cardap_registry_register(reg, ctx, library, "M-0002", 6, NULL, 0, NULL, NULL),
             CARDAP_RESULT_MEMBER_EXISTS);
  const char *id = "1001000000019";
  cardap_decision d = {0};
  CHECK_CODE(cardap_registry_decide(reg, id, 13, "city-library", 12, &d, NULL, NULL), CARDAP_RESULT_OK);
  CHECK(d.allow && d.reason == CARDAP_DENY_REASON_NONE && d.source == CARDAP_STATUS_SOURCE_NONE);
  CHECK_CODE(cardap_registry_set_status(reg, id, 13, CARDAP_CARD_STATUS_SUSPENDED), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_registry_decide(reg, id, 13, "city-library", 12, &d, &s, &n), CARDAP_RESULT_OK);
  CHECK(!d.allow && d.reason == CARDAP_DENY_REASON_SUSPENDED && d.source == CARDAP_STATUS_SOURCE_PROVIDER);
  CHECK(n > 0 && strstr(s, "\"reason\":\"suspended\"") != NULL);
  CHECK_CODE(cardap_registry_check(reg, "1001000000010", 13, &s, &n), CARDAP_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(cardap_registry_check(reg, id, 13, &s, &n), CARDAP_RESULT_OK);
  CHECK(strstr(s, "\"source\":\"provider\"") != NULL);
  CHECK_CODE(cardap_registry_import(reg, "/nonexistent.csv", 16, CARDAP_IMPORT_FULL, NULL, NULL),
             CARDAP_RESULT_FEED_IO);
  CHECK_CODE(cardap_registry_decide(NULL, id, 13, "x", 1, &d, NULL, NULL), CARDAP_RESULT_NULL_PARAMETER);
  cardap_profile_free(library);
  cardap_context_free(ctx);
  cardap_registry_free(reg);
  cardap_registry_free(NULL);
  remove(db);
  char side[80];
  snprintf(side, sizeof side, "%s-wal", db);
  remove(side);
  snprintf(side, sizeof side, "%s-shm", db);
  remove(side);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: abi_test EXAMPLES_DIR\n");
    return 2;
  }
  examples = argv[1];

  const char *version = NULL;
  size_t version_len = 0;
  CHECK_CODE(cardap_version(&version, &version_len), CARDAP_RESULT_OK);
  CHECK(same(version, version_len, CARDAP_VERSION));

  /* A virtual card from a string, and from a file. */
  size_t len = 0;
  char *card = slurp("cards/demo.toml", &len);
  cardap_context *ctx = NULL;
  CHECK_CODE(cardap_context_new_virtual_card_str(card, len, &ctx), CARDAP_RESULT_OK);
  free(card);
  read_demo(ctx, 4);
  bad_arguments(ctx);
  card_errors(ctx);
  cardap_context_free(ctx);

  char *path = path_of("cards/demo.toml");
  ctx = NULL;
  CHECK_CODE(cardap_context_new_virtual_card_file(path, strlen(path), &ctx), CARDAP_RESULT_OK);
  free(path);
  CHECK_CODE(cardap_context_set_short_apdus(ctx, true), CARDAP_RESULT_OK);
  read_demo(ctx, 7);
  cardap_context_free(ctx);

  registry_flow();

  write_and_desk();

  /* PC/SC: the reader list always answers with a code; with
   * CARDAP_TEST_READER, the demo card is read through that reader. */
  cardap_reader_list *readers = NULL;
  cardap_result r = cardap_reader_list_new(&readers);
  CHECK(r == CARDAP_RESULT_OK || r == CARDAP_RESULT_SERVICE_UNAVAILABLE);
  if (r == CARDAP_RESULT_OK) {
    size_t count = 0;
    CHECK_CODE(cardap_reader_list_count(readers, &count), CARDAP_RESULT_OK);
    for (size_t i = 0; i < count; i++) {
      const char *name = NULL;
      size_t name_len = 0;
      bool present = false;
      CHECK_CODE(cardap_reader_list_name(readers, i, &name, &name_len), CARDAP_RESULT_OK);
      CHECK_CODE(cardap_reader_list_card_present(readers, i, &present), CARDAP_RESULT_OK);
    }
    cardap_reader_list_free(readers);
  }
  const char *reader = getenv("CARDAP_TEST_READER");
  if (reader != NULL && reader[0] != '\0') {
    ctx = NULL;
    CHECK_CODE(cardap_context_new_pcsc(reader, strlen(reader), &ctx), CARDAP_RESULT_OK);
    if (ctx != NULL) {
      read_demo(ctx, 4);
      cardap_context_free(ctx);
    }
  }

  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
