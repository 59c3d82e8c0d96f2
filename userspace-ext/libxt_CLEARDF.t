:PREROUTING,FORWARD,OUTPUT,POSTROUTING
*mangle
-j CLEARDF;=;OK
-j CLEARDF --keep-id;=;OK
-p esp -j CLEARDF;=;OK
-p esp -j CLEARDF --keep-id;=;OK
-s 192.0.2.0/24 -j CLEARDF;=;OK
-d 198.51.100.7/32 -j CLEARDF --keep-id;-d 198.51.100.7/32 -j CLEARDF --keep-id;OK
-j CLEARDF --keep-id --keep-id;;FAIL
-j CLEARDF ! --keep-id;;FAIL
-j CLEARDF --keep-id 1;;FAIL
-j CLEARDF --keep-id=1;;FAIL
-j CLEARDF --bogus;;FAIL
-j CLEARDF --set-dscp 1;;FAIL
:INPUT
*mangle
-j CLEARDF;;FAIL
-j CLEARDF --keep-id;;FAIL
:FORWARD,OUTPUT
*filter
-j CLEARDF;;FAIL
:PREROUTING,POSTROUTING
*nat
-j CLEARDF;;FAIL
