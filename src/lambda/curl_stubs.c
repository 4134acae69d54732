/*
 * curl_stubs: what Debian's libcurl.a needs from the libraries that qw-lambda's
 * static bootstrap does not link (make lambda; never part of libqw or of the
 * other programs): three that Debian does not ship as static archives, then
 * five that it does but that would only add size.
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

/*
 * libssh2, nghttp2, brotli, libidn2 and libpsl: Debian ships their
 * archives, but linked in they are about 1 MB of a bootstrap whose zip
 * must stay small, for code qw never runs: SCP/SFTP (every handle is
 * limited to http,https), HTTP/2 (every handle asks for HTTP/1.1:
 * CURLOPT_HTTP_VERSION in s3.c and lambda_runtime.c, so ALPN never offers
 * h2), brotli (no handle sets CURLOPT_ACCEPT_ENCODING, so curl decodes no
 * body), IDN (S3 and Runtime API hosts are ASCII names; curl converts only
 * a name with non-ASCII bytes) and the public suffix list (cookies: no
 * handle enables them). What curl calls in any case is real enough:
 * libssh2_init() succeeds (curl_global_init() calls it), the version
 * queries answer "none". Everything else fails as the library does when
 * it cannot work (an error code, a NULL), so a path that reaches one is a
 * loud error of curl, never a wrong answer.
 */
#define ERR_STUB(name) long name(void); long name(void) { return -1; }
#define NULL_STUB(name) void *name(void); void *name(void) { return NULL; }

/* libssh2: curl_global_init() and curl_global_cleanup() call these */
int libssh2_init(int flags);
int libssh2_init(int flags) { (void)flags; return 0; }
VOID_STUB(libssh2_exit)
const char *libssh2_version(int required);
const char *libssh2_version(int required) { (void)required; return "none"; }

ERR_STUB(libssh2_agent_connect)
ERR_STUB(libssh2_agent_disconnect)
ERR_STUB(libssh2_agent_get_identity)
ERR_STUB(libssh2_agent_list_identities)
ERR_STUB(libssh2_agent_userauth)
ERR_STUB(libssh2_channel_free)
ERR_STUB(libssh2_channel_read_ex)
ERR_STUB(libssh2_channel_send_eof)
ERR_STUB(libssh2_channel_wait_closed)
ERR_STUB(libssh2_channel_wait_eof)
ERR_STUB(libssh2_channel_write_ex)
ERR_STUB(libssh2_knownhost_add)
ERR_STUB(libssh2_knownhost_checkp)
ERR_STUB(libssh2_knownhost_del)
ERR_STUB(libssh2_knownhost_get)
ERR_STUB(libssh2_knownhost_readfile)
ERR_STUB(libssh2_knownhost_writefile)
ERR_STUB(libssh2_session_block_directions)
ERR_STUB(libssh2_session_disconnect_ex)
ERR_STUB(libssh2_session_flag)
ERR_STUB(libssh2_session_free)
ERR_STUB(libssh2_session_handshake)
ERR_STUB(libssh2_session_last_errno)
ERR_STUB(libssh2_session_last_error)
ERR_STUB(libssh2_session_method_pref)
ERR_STUB(libssh2_sftp_close_handle)
ERR_STUB(libssh2_sftp_last_error)
ERR_STUB(libssh2_sftp_mkdir_ex)
ERR_STUB(libssh2_sftp_read)
ERR_STUB(libssh2_sftp_readdir_ex)
ERR_STUB(libssh2_sftp_rename_ex)
ERR_STUB(libssh2_sftp_rmdir_ex)
ERR_STUB(libssh2_sftp_shutdown)
ERR_STUB(libssh2_sftp_stat_ex)
ERR_STUB(libssh2_sftp_statvfs)
ERR_STUB(libssh2_sftp_symlink_ex)
ERR_STUB(libssh2_sftp_unlink_ex)
ERR_STUB(libssh2_sftp_write)
ERR_STUB(libssh2_userauth_authenticated)
ERR_STUB(libssh2_userauth_keyboard_interactive_ex)
ERR_STUB(libssh2_userauth_password_ex)
ERR_STUB(libssh2_userauth_publickey_fromfile_ex)
VOID_STUB(libssh2_agent_free)
VOID_STUB(libssh2_knownhost_free)
VOID_STUB(libssh2_session_set_blocking)
VOID_STUB(libssh2_sftp_seek64)
NULL_STUB(libssh2_agent_init)
NULL_STUB(libssh2_hostkey_hash)
NULL_STUB(libssh2_knownhost_init)
NULL_STUB(libssh2_scp_recv2)
NULL_STUB(libssh2_scp_send64)
NULL_STUB(libssh2_session_abstract)
NULL_STUB(libssh2_session_callback_set)
NULL_STUB(libssh2_session_hostkey)
NULL_STUB(libssh2_session_init_ex)
NULL_STUB(libssh2_sftp_init)
NULL_STUB(libssh2_sftp_open_ex)
NULL_STUB(libssh2_userauth_list)

/* nghttp2: nghttp2_info as nghttp2.h lays it out, for curl_version() */
struct qw_nghttp2_info { int age; int version_num; const char *version_str; const char *proto_str; };
static const struct qw_nghttp2_info qw_nghttp2_none = { 1, 0, "none", "h2" };
const void *nghttp2_version(int least);
const void *nghttp2_version(int least) { (void)least; return &qw_nghttp2_none; }
const char *nghttp2_strerror(int code);
const char *nghttp2_strerror(int code) { (void)code; return "HTTP/2 is not built into qw-lambda"; }
const char *nghttp2_http2_strerror(unsigned code);
const char *nghttp2_http2_strerror(unsigned code) { (void)code; return "HTTP/2 is not built into qw-lambda"; }
/* NGHTTP2_ERR_NOMEM: the constructors fail, curl gives up on the connection */
#define NGHTTP2_STUB(name) long name(void); long name(void) { return -901; }
NGHTTP2_STUB(nghttp2_option_new)
NGHTTP2_STUB(nghttp2_session_callbacks_new)
NGHTTP2_STUB(nghttp2_session_client_new2)
NGHTTP2_STUB(nghttp2_pack_settings_payload)
NGHTTP2_STUB(nghttp2_session_upgrade2)
NGHTTP2_STUB(nghttp2_session_mem_recv)
NGHTTP2_STUB(nghttp2_session_send)
NGHTTP2_STUB(nghttp2_session_resume_data)
NGHTTP2_STUB(nghttp2_session_set_local_window_size)
NGHTTP2_STUB(nghttp2_submit_ping)
NGHTTP2_STUB(nghttp2_submit_priority)
NGHTTP2_STUB(nghttp2_submit_request)
NGHTTP2_STUB(nghttp2_submit_rst_stream)
NGHTTP2_STUB(nghttp2_submit_settings)
NGHTTP2_STUB(nghttp2_session_set_stream_user_data)
int nghttp2_is_fatal(int code);
int nghttp2_is_fatal(int code) { (void)code; return 1; }
/* 0: no request allowed, no window, nothing wanted */
#define ZERO_STUB(name) long name(void); long name(void) { return 0; }
ZERO_STUB(nghttp2_session_check_request_allowed)
ZERO_STUB(nghttp2_session_get_remote_settings)
ZERO_STUB(nghttp2_session_get_remote_window_size)
ZERO_STUB(nghttp2_session_get_stream_remote_window_size)
ZERO_STUB(nghttp2_session_want_read)
ZERO_STUB(nghttp2_session_want_write)
NULL_STUB(nghttp2_session_get_stream_user_data)
VOID_STUB(nghttp2_option_del)
VOID_STUB(nghttp2_option_set_no_rfc9113_leading_and_trailing_ws_validation)
VOID_STUB(nghttp2_priority_spec_init)
VOID_STUB(nghttp2_session_callbacks_del)
VOID_STUB(nghttp2_session_callbacks_set_error_callback)
VOID_STUB(nghttp2_session_callbacks_set_on_begin_headers_callback)
VOID_STUB(nghttp2_session_callbacks_set_on_data_chunk_recv_callback)
VOID_STUB(nghttp2_session_callbacks_set_on_frame_recv_callback)
VOID_STUB(nghttp2_session_callbacks_set_on_header_callback)
VOID_STUB(nghttp2_session_callbacks_set_on_stream_close_callback)
VOID_STUB(nghttp2_session_callbacks_set_send_callback)
VOID_STUB(nghttp2_session_del)

/* brotli: no decoder (curl: out of memory); BROTLI_DECODER_RESULT_ERROR */
NULL_STUB(BrotliDecoderCreateInstance)
ZERO_STUB(BrotliDecoderDecompressStream)
VOID_STUB(BrotliDecoderDestroyInstance)
ERR_STUB(BrotliDecoderGetErrorCode)

/* libidn2: IDN2_MALLOC for a non-ASCII host name */
const char *idn2_check_version(const char *least);
const char *idn2_check_version(const char *least) { (void)least; return "none"; }
ERR_STUB(idn2_lookup_ul)
VOID_STUB(idn2_free)

/* libpsl: no list (curl then checks cookie domains without one) */
NULL_STUB(psl_builtin)
NULL_STUB(psl_latest)
ZERO_STUB(psl_is_cookie_domain_acceptable)
VOID_STUB(psl_free)
