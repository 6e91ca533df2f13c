/*
 * read_ap: reads one card AP and prints the JSON object `cardap read` prints.
 *
 *   read_ap --profile FILE --virtual-card CARD.toml   (in-process virtual card)
 *   read_ap --profile FILE --reader NAME              (a card in a PC/SC reader)
 *
 * Build (from the repository root, after
 * `cargo build -p cardap-ffi --features virtual-card`: --virtual-card needs it):
 *   cc -std=c11 -Wall -Wextra -I ffi/include examples/c/read_ap.c \
 *      -L target/debug -lcardap -Wl,-rpath,"$PWD/target/debug" -o target/read_ap
 * or with an installed libcardap: cc read_ap.c $(pkg-config --cflags --libs cardap)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardap.h"

/* Prints why a call failed: the code's text and the detailed message. */
static int fail(const char *what, cardap_result code) {
  const char *text = NULL, *detail = NULL;
  size_t text_len = 0, detail_len = 0;
  cardap_result_text(code, &text, &text_len);
  cardap_last_error(&detail, &detail_len);
  fprintf(stderr, "read_ap: %s: %.*s (%u): %.*s\n", what, (int)text_len, text,
          (unsigned)code, (int)detail_len, detail);
  return 1;
}

static int usage(void) {
  fprintf(stderr,
          "usage: read_ap --profile FILE (--reader NAME | --virtual-card CARD.toml)\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *profile_path = NULL, *reader = NULL, *card = NULL;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && strcmp(argv[i], "--profile") == 0) {
      profile_path = argv[++i];
    } else if (i + 1 < argc && strcmp(argv[i], "--reader") == 0) {
      reader = argv[++i];
    } else if (i + 1 < argc && strcmp(argv[i], "--virtual-card") == 0) {
      card = argv[++i];
    } else {
      return usage();
    }
  }
  if (profile_path == NULL || (reader == NULL) == (card == NULL)) {
    return usage();
  }

  int status = 1;
  cardap_profile *profile = NULL;
  cardap_context *context = NULL;
  cardap_record *record = NULL;
  cardap_result r;

  r = cardap_profile_new_from_file(profile_path, strlen(profile_path), &profile);
  if (r != CARDAP_RESULT_OK) {
    status = fail("profile", r);
    goto out;
  }
  if (card != NULL) {
    r = cardap_context_new_virtual_card_file(card, strlen(card), &context);
  } else {
    r = cardap_context_new_pcsc(reader, strlen(reader), &context);
  }
  if (r != CARDAP_RESULT_OK) {
    status = fail(card != NULL ? "virtual card" : "reader", r);
    goto out;
  }
  r = cardap_context_read(context, profile, &record);
  if (r != CARDAP_RESULT_OK) {
    status = fail("read", r);
    goto out;
  }
  const char *json = NULL;
  size_t json_len = 0;
  r = cardap_record_to_json(record, &json, &json_len);
  if (r != CARDAP_RESULT_OK) {
    status = fail("json", r);
    goto out;
  }
  fwrite(json, 1, json_len, stdout);
  fputc('\n', stdout);
  status = 0;

out:
  /* Each _free accepts NULL. */
  cardap_record_free(record);
  cardap_context_free(context);
  cardap_profile_free(profile);
  return status;
}
