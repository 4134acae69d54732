/*
 * curl_stubs: what Debian's libcurl.a needs from the three libraries that
 * Debian does not ship as static archives, for qw-lambda's static bootstrap
 * only (make lambda; never part of libqw or of the other programs).
 *
 * libcurl.a is built with every protocol and auth Debian enables, so its
 * LDAP (libldap, which needs Cyrus SASL: no archive), RTMP (librtmp, which
 * needs p11-kit through GnuTLS: no archive) and GSS-API/Kerberos (MIT krb5:
 * no archive) code is linked in and names these functions. qw never
 * reaches them: every curl handle of qw is limited to http,https
 * (CURLOPT_PROTOCOLS_STR in s3.c and lambda_runtime.c) and none asks for
 * Negotiate/Kerberos auth. Should one be reached all the same, it fails
 * as the real library fails when the service is unavailable (an error
 * code, a NULL), never a crash. Prototypes are not those of the real
 * headers on purpose: only the symbols and the x86_64 return register
 * matter to the linker and to curl's error checks.
 */
#include <stddef.h>

/* GSS_S_FAILURE: GSS_ERROR() is true, curl gives up on the auth */
#define GSS_FAILURE (13ul << 16)

/* gss_OID_desc *: curl only passes it to gss_import_name */
void *GSS_C_NT_HOSTBASED_SERVICE;

#define GSS_STUB(name) unsigned long name(void); unsigned long name(void) { return GSS_FAILURE; }
#define LDAP_STUB(name) int name(void); int name(void) { return -1; }
#define VOID_STUB(name) void name(void); void name(void) { }
#define RTMP_STUB(name) long name(void); long name(void) { return 0; }

GSS_STUB(gss_delete_sec_context)
GSS_STUB(gss_display_name)
GSS_STUB(gss_display_status)
GSS_STUB(gss_import_name)
GSS_STUB(gss_init_sec_context)
GSS_STUB(gss_inquire_context)
GSS_STUB(gss_release_buffer)
GSS_STUB(gss_release_name)
GSS_STUB(gss_unwrap)
GSS_STUB(gss_wrap)

LDAP_STUB(ldap_abandon_ext)
LDAP_STUB(ldap_get_option)
LDAP_STUB(ldap_init_fd)
LDAP_STUB(ldap_msgfree)
LDAP_STUB(ldap_msgtype)
LDAP_STUB(ldap_parse_result)
LDAP_STUB(ldap_parse_sasl_bind_result)
LDAP_STUB(ldap_pvt_url_scheme2proto)
LDAP_STUB(ldap_result)
LDAP_STUB(ldap_sasl_bind)
LDAP_STUB(ldap_search_ext)
LDAP_STUB(ldap_set_option)
LDAP_STUB(ldap_start_tls)
LDAP_STUB(ldap_unbind_ext)
LDAP_STUB(ldap_url_parse)
LDAP_STUB(ber_sockbuf_add_io)
VOID_STUB(ldap_free_urldesc)
VOID_STUB(ldap_memfree)
VOID_STUB(ber_bvfree)
VOID_STUB(ber_free)
VOID_STUB(ber_memfree)

/* these return pointers: NULL is "none" */
void *ldap_get_attribute_ber(void);
void *ldap_get_attribute_ber(void) { return NULL; }
void *ldap_get_dn_ber(void);
void *ldap_get_dn_ber(void) { return NULL; }
const char *ldap_err2string(void);
const char *ldap_err2string(void) { return "LDAP is not built into qw-lambda"; }

/* RTMP_Alloc's NULL is out of memory to curl; the others' 0 is FALSE */
RTMP_STUB(RTMP_Alloc)
RTMP_STUB(RTMP_Connect1)
RTMP_STUB(RTMP_ConnectStream)
RTMP_STUB(RTMP_Read)
RTMP_STUB(RTMP_SetupURL)
RTMP_STUB(RTMP_Write)
VOID_STUB(RTMP_Close)
VOID_STUB(RTMP_Free)
VOID_STUB(RTMP_Init)
VOID_STUB(RTMP_SetBufferMS)
