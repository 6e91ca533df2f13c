/*
 * own_transport: reads card APs through a transport the program supplies
 * itself. The program talks to the reader with its own libpcsclite calls
 * (SCardEstablishContext, SCardConnect, SCardTransmit); cardap only builds
 * the commands, authenticates, checks the MACs and decodes. The same shape
 * fits an NFC stack, a vendor SDK or a phone: only transmit() changes.
 *
 *   own_transport --reader NAME --profile FILE [--profile FILE ...]
 *
 * Prints, per profile, the JSON object `cardap read` prints.
 *
 * Build (with an installed libcardap and pcsc-lite's headers):
 *   cc own_transport.c $(pkg-config --cflags --libs cardap libpcsclite)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winscard.h>

#include "cardap.h"

/* What the transport needs: the caller's own PC/SC connection. */
struct link {
  SCARDCONTEXT context;
  SCARDHANDLE card;
  DWORD protocol;
};

/* A PC/SC error as the result code cardap knows it. */
static cardap_result code_of(LONG rv) {
  switch (rv) {
  case (LONG)SCARD_W_REMOVED_CARD:
    return CARDAP_RESULT_CARD_REMOVED;
  case (LONG)SCARD_W_RESET_CARD:
    return CARDAP_RESULT_CARD_RESET;
  case (LONG)SCARD_E_NO_SMARTCARD:
    return CARDAP_RESULT_NO_CARD;
  case (LONG)SCARD_E_TIMEOUT:
    return CARDAP_RESULT_TIMEOUT;
  case (LONG)SCARD_E_NO_SERVICE:
  case (LONG)SCARD_E_SERVICE_STOPPED:
    return CARDAP_RESULT_SERVICE_UNAVAILABLE;
  case (LONG)SCARD_E_READER_UNAVAILABLE:
  case (LONG)SCARD_E_UNKNOWN_READER:
    return CARDAP_RESULT_READER_UNAVAILABLE;
  default:
    return CARDAP_RESULT_TRANSPORT_FAILURE;
  }
}

/* The transmit callback: one APDU out, the whole response (with SW) back. */
static cardap_result transmit(void *userdata, const uint8_t *command, size_t command_len,
                              uint8_t *response, size_t response_capacity,
                              size_t *response_len) {
  struct link *l = userdata;
  const SCARD_IO_REQUEST *pci =
      l->protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  DWORD got = (DWORD)response_capacity;
  LONG rv = SCardTransmit(l->card, pci, command, (DWORD)command_len, NULL, response, &got);
  if (rv != SCARD_S_SUCCESS) {
    return code_of(rv);
  }
  *response_len = got;
  return CARDAP_RESULT_OK;
}

static int pcsc_fail(const char *what, LONG rv) {
  fprintf(stderr, "own_transport: %s: %s\n", what, pcsc_stringify_error(rv));
  return 1;
}

static int cardap_fail(const char *what, cardap_result code) {
  const char *detail = NULL;
  size_t detail_len = 0;
  cardap_last_error(&detail, &detail_len);
  fprintf(stderr, "own_transport: %s: code %u: %.*s\n", what, (unsigned)code,
          (int)detail_len, detail);
  return 1;
}

/* Reads one profile in one PC/SC transaction of the program's own. */
static int read_one(cardap_context *context, struct link *l, const char *path) {
  cardap_profile *profile = NULL;
  cardap_result r = cardap_profile_new_from_file(path, strlen(path), &profile);
  if (r != CARDAP_RESULT_OK) {
    return cardap_fail(path, r);
  }
  LONG rv = SCardBeginTransaction(l->card);
  if (rv != SCARD_S_SUCCESS) {
    cardap_profile_free(profile);
    return pcsc_fail("SCardBeginTransaction", rv);
  }
  cardap_record *record = NULL;
  r = cardap_context_read(context, profile, &record);
  SCardEndTransaction(l->card, SCARD_LEAVE_CARD);
  cardap_profile_free(profile);
  if (r != CARDAP_RESULT_OK) {
    return cardap_fail(path, r);
  }
  const char *json = NULL;
  size_t json_len = 0;
  r = cardap_record_to_json(record, &json, &json_len);
  if (r == CARDAP_RESULT_OK) {
    printf("%.*s\n", (int)json_len, json);
  }
  cardap_record_free(record);
  return r == CARDAP_RESULT_OK ? 0 : cardap_fail("json", r);
}

int main(int argc, char **argv) {
  const char *reader = NULL;
  const char *profiles[16];
  int n_profiles = 0;
  for (int i = 1; i < argc; i++) {
    if (i + 1 < argc && strcmp(argv[i], "--reader") == 0) {
      reader = argv[++i];
    } else if (i + 1 < argc && strcmp(argv[i], "--profile") == 0 && n_profiles < 16) {
      profiles[n_profiles++] = argv[++i];
    } else {
      reader = NULL;
      break;
    }
  }
  if (reader == NULL || n_profiles == 0) {
    fprintf(stderr, "usage: own_transport --reader NAME --profile FILE [--profile FILE ...]\n");
    return 2;
  }

  struct link l = {0};
  LONG rv = SCardEstablishContext(SCARD_SCOPE_USER, NULL, NULL, &l.context);
  if (rv != SCARD_S_SUCCESS) {
    return pcsc_fail("SCardEstablishContext", rv);
  }
  rv = SCardConnect(l.context, reader, SCARD_SHARE_SHARED,
                    SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &l.card, &l.protocol);
  if (rv != SCARD_S_SUCCESS) {
    SCardReleaseContext(l.context);
    return pcsc_fail("SCardConnect", rv);
  }
  /* The ATR tells cardap whether the card takes extended-length APDUs. */
  BYTE atr[MAX_ATR_SIZE];
  DWORD atr_len = sizeof atr, state = 0, protocol = 0;
  char name[256];
  DWORD name_len = sizeof name;
  rv = SCardStatus(l.card, name, &name_len, &state, &protocol, atr, &atr_len);
  if (rv != SCARD_S_SUCCESS) {
    atr_len = 0;
  }

  cardap_context *context = NULL;
  int status = 0;
  cardap_result r =
      cardap_context_new_transport(transmit, &l, atr_len > 0 ? atr : NULL, atr_len, &context);
  if (r != CARDAP_RESULT_OK) {
    status = cardap_fail("cardap_context_new_transport", r);
  }
  for (int i = 0; status == 0 && i < n_profiles; i++) {
    status = read_one(context, &l, profiles[i]);
  }
  /* The context goes before the link its callback uses. */
  cardap_context_free(context);
  SCardDisconnect(l.card, SCARD_RESET_CARD);
  SCardReleaseContext(l.context);
  return status;
}
