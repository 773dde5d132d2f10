// The SDK warns on every client that releases from 2027 want Node 22; the suite runs on 20 by design.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
