"""OAuth 2.0 for business systems as the JP standard's 庁内データ連携 asks (SPEC 12).

`scopes` names what a token may do; `server` is authlib's authorization server wired to our
models (client_credentials only, client_secret_jwt and client_secret_basic, introspection);
`views` are the two endpoints.
"""
