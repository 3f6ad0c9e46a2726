# type: netfilter
# section: netfilter
# expect: reject
# class: return
r0 = 2
exit
