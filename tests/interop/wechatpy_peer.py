"""Plays WeChat against a running wxmp with an independent implementation of
the protocol (the `wechatpy` package): signs and encrypts a message, posts it,
then verifies and decrypts the reply. Prints one JSON line with the result.

usage: wechatpy_peer.py CALLBACK_URL TOKEN ENCODING_AES_KEY APP_ID ORIGINAL_ID OPENID TEXT MSG_ID
"""
import hashlib
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import wechatpy
from wechatpy.crypto import WeChatCrypto


def sha1_signature(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def main():
    url, token, aes_key, app_id, original_id, openid, text, msg_id = sys.argv[1:9]
    crypto = WeChatCrypto(token, aes_key, app_id)
    timestamp = str(int(time.time()))
    nonce = "interop%d" % int(time.time() * 1000)
    message = (
        "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"
        "<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>"
        "<MsgId>%s</MsgId></xml>" % (original_id, openid, timestamp, text, msg_id)
    )
    # wechatpy writes the envelope of a reply; WeChat's request carries the
    # same Encrypt, with the signature in the query string.
    envelope = crypto.encrypt_message(message, nonce, timestamp)
    encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]></Encrypt>")[0]
    query = urllib.parse.urlencode({
        "signature": sha1_signature(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": openid,
        "encrypt_type": "aes",
        "msg_signature": sha1_signature(token, timestamp, nonce, encrypted),
    })
    body = "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>" % (original_id, encrypted)
    request = urllib.request.Request(url + "?" + query, data=body.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, reply_body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        print(json.dumps({"status": error.code, "body": error.read().decode()}))
        return
    result = {"status": status, "body": reply_body}
    if reply_body.startswith("<xml>"):
        fields = {}
        for name in ("MsgSignature", "TimeStamp", "Nonce"):
            fields[name] = reply_body.split("<%s>" % name)[1].split("</%s>" % name)[0]
            fields[name] = fields[name].replace("<![CDATA[", "").replace("]]>", "")
        # Raises if the reply's MsgSignature or its AppID does not check out.
        decrypted = crypto.decrypt_message(reply_body, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"])
        reply = wechatpy.parse_message(decrypted)
        result.update({"type": reply.type, "content": getattr(reply, "content", None),
                       "to": reply.target, "from": reply.source})
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
