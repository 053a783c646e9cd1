import { describe, expect, it } from 'vitest';
import { nn, randn, zeros } from '../../src/index.js';

/* Bad shapes and options for Conv2d, the pooling layers, Flatten and Dropout: errors name the shape or option. */

const F = nn.functional;

describe('Conv2d errors', () => {
  it('channels not divisible by groups (in or out)', () => {
    expect(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).toThrow(/Conv2d: inChannels 3 is not divisible by groups 2/);
    expect(() => new nn.Conv2d(4, 6, 3, { groups: 4 })).toThrow(/Conv2d: outChannels 6 is not divisible by groups 4/);
    expect(() => F.conv2d(zeros([1, 4, 5, 5]), zeros([3, 2, 3, 3]), null, { groups: 2 }))
      .toThrow(/conv2d: weight \[3, 2, 3, 3\] has 3 output channels, not divisible by groups 2/);
    expect(() => new nn.Conv2d(4, 4, 3, { groups: 0 })).toThrow(/Conv2d: groups must be a positive integer, got 0/);
  });

  it('non-positive stride or dilation, negative padding, bad kernel size', () => {
    expect(() => new nn.Conv2d(1, 1, 3, { stride: 0 })).toThrow(/Conv2d: stride must be a positive integer or a pair \[h, w\] of them, got 0/);
    expect(() => new nn.Conv2d(1, 1, 3, { stride: [1, -2] })).toThrow(/Conv2d: stride .* got \[1,-2\]/);
    expect(() => new nn.Conv2d(1, 1, 3, { dilation: 0 })).toThrow(/Conv2d: dilation must be a positive integer/);
    expect(() => new nn.Conv2d(1, 1, 3, { padding: -1 })).toThrow(/Conv2d: padding must be a non-negative integer or a pair \[h, w\] of them, got -1/);
    expect(() => new nn.Conv2d(1, 1, 3, { padding: [1, 1, 1] as never })).toThrow(/Conv2d: padding .* got \[1,1,1\]/);
    expect(() => new nn.Conv2d(1, 1, 0)).toThrow(/Conv2d: kernelSize must be a positive integer/);
    expect(() => new nn.Conv2d(1, 1, 1.5)).toThrow(/Conv2d: kernelSize .* got 1.5/);
    expect(() => F.conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 3, 3]), null, { stride: [0, 1] })).toThrow(/conv2d: stride .* got \[0,1\]/);
    expect(() => F.conv2d(zeros([1, 1, 4, 4]), zeros([1, 1, 3, 3]), null, { padding: -1 })).toThrow(/conv2d: padding must be a non-negative integer/);
    expect(() => new nn.Conv2d(0, 1, 3)).toThrow(/Conv2d: inChannels must be a positive integer, got 0/);
  });

  it('wrong rank (not 4-D)', () => {
    const conv = new nn.Conv2d(3, 2, 3);
    expect(() => conv.forward(zeros([3, 5, 5]))).toThrow(/Conv2d: expected a 4-D input \[N, C, H, W\], got shape \[3, 5, 5\]/);
    expect(() => conv.forward(zeros([1, 1, 3, 5, 5]))).toThrow(/got shape \[1, 1, 3, 5, 5\]/);
    expect(() => F.conv2d(zeros([1, 3, 5, 5]), zeros([2, 3, 3]))).toThrow(/conv2d: expected a 4-D weight \[out, in\/groups, kh, kw\], got shape \[2, 3, 3\]/);
  });

  it('input channel mismatch names both shapes', () => {
    expect(() => new nn.Conv2d(3, 8, 3).forward(zeros([1, 4, 5, 5])))
      .toThrow(/Conv2d: input shape \[1, 4, 5, 5\] has 4 channels, but weight \[8, 3, 3, 3\] with groups 1 expects 3/);
    expect(() => new nn.Conv2d(4, 4, 3, { groups: 2 }).forward(zeros([1, 2, 5, 5])))
      .toThrow(/input shape \[1, 2, 5, 5\] has 2 channels, but weight \[4, 2, 3, 3\] with groups 2 expects 4/);
  });

  it('kernel larger than the padded input', () => {
    expect(() => new nn.Conv2d(1, 1, 5).forward(zeros([1, 1, 3, 7])))
      .toThrow(/Conv2d: kernel 5×5 \(dilation 1×1: 5×5 effective\) is larger than the padded input 3×7 \(input \[1, 1, 3, 7\], padding 0×0\)/);
    expect(new nn.Conv2d(1, 1, 5, { padding: 1 }).forward(zeros([1, 1, 3, 3])).shape).toEqual([1, 1, 1, 1]);
    expect(() => new nn.Conv2d(1, 1, 3, { dilation: [2, 1] }).forward(zeros([1, 1, 4, 4])))
      .toThrow(/kernel 3×3 \(dilation 2×1: 5×3 effective\) is larger than the padded input 4×4/);
  });

  it('bias shape and dtype mismatches', () => {
    expect(() => F.conv2d(zeros([1, 2, 4, 4]), zeros([3, 2, 3, 3]), zeros([2]))).toThrow(/conv2d: bias must have shape \[3\] .* got \[2\]/);
    expect(() => new nn.Conv2d(2, 3, 3).forward(zeros([1, 2, 4, 4], { dtype: 'float64' })))
      .toThrow(/Conv2d: input dtype float64 does not match the weight's float32/);
  });
});

describe('pooling, Flatten and Dropout errors', () => {
  const x = randn([2, 3, 6, 6]);
  it('wrong rank', () => {
    expect(() => new nn.MaxPool2d(2).forward(randn([3, 6, 6]))).toThrow(/MaxPool2d: expected a 4-D input \[N, C, H, W\], got shape \[3, 6, 6\]/);
    expect(() => new nn.AvgPool2d(2).forward(randn([6, 6]))).toThrow(/AvgPool2d: expected a 4-D input .* got shape \[6, 6\]/);
    expect(() => new nn.AdaptiveAvgPool2d(1).forward(randn([2, 3, 6]))).toThrow(/adaptiveAvgPool2d: expected a 4-D input .* got shape \[2, 3, 6\]/);
  });

  it('kernel larger than the padded input; padding more than half the kernel', () => {
    expect(() => new nn.MaxPool2d(7).forward(x)).toThrow(/MaxPool2d: kernel 7×7 is larger than the padded input 6×6 \(input \[2, 3, 6, 6\], padding 0×0\)/);
    expect(new nn.MaxPool2d(7, { padding: 1 }).forward(x).shape).toEqual([2, 3, 1, 1]);
    expect(() => new nn.AvgPool2d([2, 9], { padding: [0, 1] }).forward(x)).toThrow(/AvgPool2d: kernel 2×9 is larger than the padded input 6×8/);
    expect(() => new nn.MaxPool2d(3, { padding: 2 }).forward(x)).toThrow(/MaxPool2d: padding 2×2 must be at most half the kernel 3×3/);
    expect(() => F.avgPool2d(x, 2, { padding: [0, 2] })).toThrow(/avgPool2d: padding 0×2 must be at most half the kernel 2×2/);
  });

  it('bad options', () => {
    expect(() => new nn.MaxPool2d(0)).toThrow(/MaxPool2d: kernelSize must be a positive integer/);
    expect(() => new nn.MaxPool2d(2, { stride: 0 })).toThrow(/MaxPool2d: stride must be a positive integer .* got 0/);
    expect(() => new nn.AvgPool2d(2, { padding: -1 })).toThrow(/AvgPool2d: padding must be a non-negative integer .* got -1/);
    expect(() => new nn.AdaptiveAvgPool2d(0)).toThrow(/AdaptiveAvgPool2d: outputSize must be a positive integer .* got 0/);
    expect(() => new nn.AdaptiveAvgPool2d([2, 2.5])).toThrow(/AdaptiveAvgPool2d: outputSize .* got \[2,2.5\]/);
    expect(() => F.adaptiveAvgPool2d(x, [0, 1])).toThrow(/adaptiveAvgPool2d: outputSize .* got \[0,1\]/);
  });

  it('Flatten axes out of range name the shape; Dropout p outside [0, 1)', () => {
    expect(() => new nn.Flatten(1, 4).forward(x)).toThrow(/axis 4 is out of range for a tensor of shape \[2, 3, 6, 6\]/);
    expect(() => new nn.Flatten(0.5)).toThrow(/Flatten: startDim must be an integer, got 0.5/);
    expect(() => new nn.Flatten(2, 1).forward(x)).toThrow(/Flatten: startDim 2 comes after endDim 1 for input shape \[2, 3, 6, 6\]/);
    for (const p of [1, -0.1, 1.5, Number.NaN]) {
      expect(() => new nn.Dropout(p)).toThrow(new RegExp(`Dropout: p must be in \\[0, 1\\), got ${p}`));
      expect(() => F.dropout(x, p)).toThrow(/dropout: p must be in \[0, 1\)/);
    }
  });
});
