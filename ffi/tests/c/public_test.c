/*
 * The public-AP functions of the C ABI from C, run under valgrind memcheck by
 * scripts/test-ffi.sh: card info, PIN counts, certificates, signatures,
 * kenhojo, each PIN error code, bad arguments; every handle freed.
 *
 *   public_test EXAMPLES_DIR      (the repository's examples/ directory)
 *
 * Ends with the line "N passed, M failed"; exits 1 if any check failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cardap.h"
#include "check.h"

/* The bytes of a handle, checked and freed. */
static size_t take(struct cardap_bytes *b, const char *must_contain) {
  const uint8_t *data = NULL;
  size_t len = 0;
  CHECK_CODE(cardap_bytes_data(b, &data, &len), CARDAP_RESULT_OK);
  CHECK(data != NULL && data[len] == 0);
  if (must_contain != NULL) {
    CHECK(strstr((const char *)data, must_contain) != NULL);
  }
  cardap_bytes_free(b);
  return len;
}

int main(int argc, char **argv) {
  const char *examples = argc > 1 ? argv[1] : "examples";
  char path[4096];
  snprintf(path, sizeof path, "%s/cards/public.toml", examples);

  struct cardap_context *ctx = NULL;
  CHECK_CODE(cardap_context_new_virtual_card_file(path, strlen(path), &ctx),
             CARDAP_RESULT_OK);
  if (ctx == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  struct cardap_bytes *out = NULL;

  CHECK_CODE(cardap_context_card_info(ctx, &out), CARDAP_RESULT_OK);
  take(out, "\"card\":\"mynumber\"");

  int32_t auth = 0, sign = 0, kenhojo = 0;
  CHECK_CODE(cardap_context_pin_status(ctx, &auth, &sign, &kenhojo), CARDAP_RESULT_OK);
  CHECK(auth == 3 && sign == 5 && kenhojo == 3);

  CHECK_CODE(cardap_context_jpki_certificate(ctx, CARDAP_JPKI_CERT_AUTH, NULL, 0, &out),
             CARDAP_RESULT_OK);
  CHECK(take(out, NULL) > 900);
  const uint8_t sign_pin[] = "sample1";
  CHECK_CODE(cardap_context_jpki_certificate(ctx, CARDAP_JPKI_CERT_SIGN, sign_pin,
                                             sizeof sign_pin - 1, &out),
             CARDAP_RESULT_OK);
  CHECK(take(out, NULL) > 900);

  const uint8_t pin[] = "1234", wrong[] = "0000", bad[] = "12a4", data[] = "to sign";
  CHECK_CODE(cardap_context_jpki_sign(ctx, CARDAP_JPKI_KEY_AUTH, CARDAP_HASH_SHA256, pin, 4,
                                      data, sizeof data - 1, &out),
             CARDAP_RESULT_OK);
  CHECK(take(out, NULL) == 256);

  CHECK_CODE(cardap_context_kenhojo(ctx, pin, 4,
                                    CARDAP_KENHOJO_MY_NUMBER | CARDAP_KENHOJO_VERIFY, NULL,
                                    0, &out),
             CARDAP_RESULT_OK);
  take(out, "\"my_number\":\"123456789018\"");

  /* PIN errors: malformed, wrong twice, the floor, the last try, blocked. */
  out = NULL;
  CHECK_CODE(cardap_context_kenhojo(ctx, bad, 4, 0, NULL, 0, &out), CARDAP_RESULT_MALFORMED_PIN);
  CHECK(out == NULL);
  CHECK_CODE(cardap_context_kenhojo(ctx, wrong, 4, 0, NULL, 0, &out), CARDAP_RESULT_WRONG_PIN);
  CHECK_CODE(cardap_context_kenhojo(ctx, wrong, 4, 0, NULL, 0, &out), CARDAP_RESULT_WRONG_PIN);
  CHECK_CODE(cardap_context_kenhojo(ctx, pin, 4, 0, NULL, 0, &out), CARDAP_RESULT_PIN_FLOOR);
  CHECK_CODE(cardap_context_set_pin_floor(ctx, 0), CARDAP_RESULT_OK);
  CHECK_CODE(cardap_context_kenhojo(ctx, wrong, 4, 0, NULL, 0, &out), CARDAP_RESULT_WRONG_PIN);
  CHECK_CODE(cardap_context_kenhojo(ctx, pin, 4, 0, NULL, 0, &out), CARDAP_RESULT_PIN_BLOCKED);
  CHECK(out == NULL);

  /* Bad arguments. */
  CHECK_CODE(cardap_context_jpki_sign(ctx, 9, 0, pin, 4, data, 1, &out),
             CARDAP_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(cardap_context_kenhojo(ctx, pin, 4, 0x80, NULL, 0, &out),
             CARDAP_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(cardap_context_pin_status(NULL, &auth, &sign, &kenhojo),
             CARDAP_RESULT_NULL_PARAMETER);
  CHECK_CODE(cardap_bytes_data(NULL, NULL, NULL), CARDAP_RESULT_NULL_PARAMETER);
  cardap_bytes_free(NULL);

  cardap_context_free(ctx);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
