// OpenSSL's libcrypto (Debian: libssl-dev), already linked by librdkafka: HMAC and digests.
#include <openssl/evp.h>
#include <openssl/hmac.h>
