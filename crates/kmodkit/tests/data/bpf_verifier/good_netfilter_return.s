# type: netfilter
# section: netfilter
# expect: accept
r0 = 1
exit
