# Computes the vectors of merkle.test.ts independently of our code: python3 merkle-vectors.py
import hashlib
B=16384
def data(n): return bytes((i*7+3)%251 for i in range(n))
def h(b): return hashlib.sha256(b).digest()
def leaves(d): return [h(d[i:i+B]) for i in range(0,len(d),B)]
def np2(n):
  p=1
  while p<n: p*=2
  return p
def root(ls,width):
  ls=ls+[bytes(32)]*(width-len(ls))
  while len(ls)>1: ls=[h(ls[i]+ls[i+1]) for i in range(0,len(ls),2)]
  return ls[0]
for n in [100, 40000, 5*B+123, 9*B]:
  d=data(n); L=leaves(d)
  print(n, 'root', root(L,np2(len(L))).hex())
  pl=2*B
  if n>pl:
    layer=[root(L[i:i+2],2) for i in range(0,len(L),2)]
    print(n,'layer32k', b''.join(layer).hex())
# pad hash of 8 zero leaves
print('pad3', root([],8).hex())
# proof for 9-block file: width 16; base 0 index 8 length 4, uncles
d=data(9*B); L=leaves(d)+[bytes(32)]*7
lay=[L]
while len(lay[-1])>1:
  x=lay[-1]; lay.append([h(x[i]+x[i+1]) for i in range(0,len(x),2)])
print('uncle2', lay[2][3].hex(), 'uncle3', lay[3][0].hex(), 'root', lay[4][0].hex())
