"""modulation"""
