;; GELU and its derivative over float32 arrays in tfjs-backend-wasm's memory, four lanes at a
;; time (WebAssembly SIMD). Assembled into gelu-wasm.ts by assemble-wat.ts; see wasm-gelu.ts.
;;
;;   gelu(x)  = x Phi(x),            Phi(x) = (1 + erf(x / sqrt 2)) / 2
;;   gelu'(x) = Phi(x) + x phi(x),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
;;
;; erf is Eigen's (and TensorFlow's) float rational approximation, exact to a few ulps on
;; [-4, 4] and +-1 beyond; exp is Cephes' expf: x = n ln 2 + r, a degree-6 polynomial in r,
;; times 2^n built in the exponent bits.
(module
  (import "env" "memory" (memory 1 65536 MEMORY_SHARING))

  (func $erf (param $x v128) (result v128)
    (local $x2 v128) (local $p v128) (local $q v128)
    (local.set $x (f32x4.max (f32x4.min (local.get $x) (f32x4.splat (f32.const 4))) (f32x4.splat (f32.const -4))))
    (local.set $x2 (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (f32x4.splat (f32.const -2.72614225801306e-10))) (f32x4.splat (f32.const 2.77068142495902e-08))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const -2.10102402082508e-06))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const -5.69250639462346e-05))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const -7.34990630326855e-04))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const -2.95459980854025e-03))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const -1.60960333262415e-02))))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (f32x4.splat (f32.const -1.45660718464996e-05))) (f32x4.splat (f32.const -2.13374055278905e-04))))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (f32x4.splat (f32.const -1.68282697438203e-03))))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (f32x4.splat (f32.const -7.37332916720468e-03))))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (f32x4.splat (f32.const -1.42647390514189e-02))))
    (f32x4.div (f32x4.mul (local.get $x) (local.get $p)) (local.get $q)))

  (func $exp (param $x v128) (result v128)
    (local $n v128) (local $r v128) (local $y v128)
    (local.set $x (f32x4.max (f32x4.min (local.get $x) (f32x4.splat (f32.const 88.3762626647949))) (f32x4.splat (f32.const -87.3365478515625))))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) (f32x4.splat (f32.const 1.44269504088896341)))))
    ;; r = x - n ln 2, with ln 2 in two parts so that n ln 2 is exact enough
    (local.set $r (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (f32x4.splat (f32.const 0.693359375)))))
    (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $n) (f32x4.splat (f32.const -2.12194440e-4)))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (f32x4.splat (f32.const 1.9875691500e-4))) (f32x4.splat (f32.const 1.3981999507e-3))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (local.get $y)) (f32x4.splat (f32.const 8.3334519073e-3))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (local.get $y)) (f32x4.splat (f32.const 4.1665795894e-2))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (local.get $y)) (f32x4.splat (f32.const 1.6666665459e-1))))
    (local.set $y (f32x4.add (f32x4.mul (local.get $r) (local.get $y)) (f32x4.splat (f32.const 5.0000001201e-1))))
    (local.set $y (f32x4.add (f32x4.add (f32x4.mul (f32x4.mul (local.get $r) (local.get $r)) (local.get $y)) (local.get $r)) (f32x4.splat (f32.const 1))))
    ;; times 2^n: (n + 127) << 23 is 2^n's bit pattern
    (f32x4.mul (local.get $y)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127))) (i32.const 23))))

  ;; Phi(x) = (1 + erf(x / sqrt 2)) / 2
  (func $cdf (param $x v128) (result v128)
    (f32x4.mul
      (f32x4.add (call $erf (f32x4.mul (local.get $x) (f32x4.splat (f32.const 0.70710678118654752)))) (f32x4.splat (f32.const 1)))
      (f32x4.splat (f32.const 0.5))))

  ;; The last step starts at n - 4 (overlapping the one before) so that no lane runs past the
  ;; end: the outputs are separate buffers, so recomputing a few elements changes nothing.
  ;; Needs n >= 4.
  (func $last (param $i i32) (param $n i32) (result i32)
    (select (local.get $i) (i32.shl (i32.sub (local.get $n) (i32.const 4)) (i32.const 2))
      (i32.le_u (i32.add (local.get $i) (i32.const 16)) (i32.shl (local.get $n) (i32.const 2)))))

  ;; y[i] = gelu(x[i]) for i < n (byte offsets x, y)
  (func (export "gelu") (param $x i32) (param $y i32) (param $n i32)
    (local $i i32) (local $at i32) (local $v v128)
    (loop $next
      (local.set $at (call $last (local.get $i) (local.get $n)))
      (local.set $v (v128.load align=4 (i32.add (local.get $x) (local.get $at))))
      (v128.store align=4 (i32.add (local.get $y) (local.get $at)) (f32x4.mul (local.get $v) (call $cdf (local.get $v))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $next (i32.lt_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))))

  ;; dx[i] = dy[i] gelu'(x[i]) for i < n (byte offsets x, dy, dx)
  (func (export "geluGrad") (param $x i32) (param $dy i32) (param $dx i32) (param $n i32)
    (local $i i32) (local $at i32) (local $v v128) (local $pdf v128)
    (loop $next
      (local.set $at (call $last (local.get $i) (local.get $n)))
      (local.set $v (v128.load align=4 (i32.add (local.get $x) (local.get $at))))
      (local.set $pdf (f32x4.mul
        (call $exp (f32x4.mul (f32x4.mul (local.get $v) (local.get $v)) (f32x4.splat (f32.const -0.5))))
        (f32x4.splat (f32.const 0.3989422804014327))))
      (v128.store align=4 (i32.add (local.get $dx) (local.get $at))
        (f32x4.mul (v128.load align=4 (i32.add (local.get $dy) (local.get $at)))
          (f32x4.add (call $cdf (local.get $v)) (f32x4.mul (local.get $v) (local.get $pdf)))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br_if $next (i32.lt_u (local.get $i) (i32.shl (local.get $n) (i32.const 2))))))
)
