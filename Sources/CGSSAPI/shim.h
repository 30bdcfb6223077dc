// MIT Kerberos GSSAPI and libkrb5 (Debian libkrb5-dev) for Swift: the headers SonarLab uses.
// libkrb5 (krb5.h) inspects ticket caches before GSSAPI uses them (krb5_cc_*).
#ifndef SONARLAB_CGSSAPI_SHIM_H
#define SONARLAB_CGSSAPI_SHIM_H
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <gssapi/gssapi_ext.h>
#include <krb5.h>

// GSS_ERROR is a macro that does not import into Swift.
static inline int sonarlab_gss_error(OM_uint32 major) { return GSS_ERROR(major) != 0; }
// GSS_S_CONTINUE_NEEDED is a shifted-constant macro that does not import either.
static inline OM_uint32 sonarlab_gss_continue_needed(void) { return GSS_S_CONTINUE_NEEDED; }
#endif
